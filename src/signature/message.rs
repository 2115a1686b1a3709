//! The string Strex signs, and the absolute URI it contains.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use sha2::{Digest, Sha256};
use url::Url;

/// The URL registered in StrexConnect, without the forward path: what Strex posts to, as
/// opposed to what this process sees behind a TLS-terminating proxy.
///
/// Strex signs the URL it posted to, so the scheme, host and any path prefix the proxy strips
/// come from here, never from the request (`Host`, `X-Forwarded-*` and the like can be sent by
/// anyone).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PublicUrl {
    /// `scheme://host[:port]` and an optional path prefix, with no trailing slash.
    base: String,
}

/// Why a public URL cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum PublicUrlError {
    #[error("STREXFORCE_PUBLIC_URL is not a URL: {0}")]
    NotAUrl(String),
    #[error("STREXFORCE_PUBLIC_URL must be http or https, not {0}")]
    Scheme(String),
    #[error("STREXFORCE_PUBLIC_URL must not have a query, fragment or user info")]
    Extra,
    #[error(
        "STREXFORCE_PUBLIC_URL is the URL without /forward/…, such as \
         https://connector.example.com; it ends in {0}"
    )]
    ForwardPath(String),
}

impl PublicUrl {
    pub fn parse(text: &str) -> Result<PublicUrl, PublicUrlError> {
        let url =
            Url::parse(text.trim()).map_err(|error| PublicUrlError::NotAUrl(error.to_string()))?;
        if !matches!(url.scheme(), "http" | "https") {
            return Err(PublicUrlError::Scheme(url.scheme().to_owned()));
        }
        if url.query().is_some() || url.fragment().is_some() || !url.username().is_empty() {
            return Err(PublicUrlError::Extra);
        }
        // The url crate already drops a default port (:443, :80), as System.Uri's AbsoluteUri
        // does on the sender's side.
        let origin = url.origin().ascii_serialization();
        let prefix = url.path().trim_end_matches('/');
        // The forward paths are appended to this URL; naming one here would double it, and
        // every signature would then fail.
        if prefix.ends_with("/forward/mo")
            || prefix.ends_with("/forward/dlr")
            || prefix.ends_with("/forward")
        {
            return Err(PublicUrlError::ForwardPath(prefix.to_owned()));
        }
        Ok(PublicUrl {
            base: format!("{origin}{prefix}"),
        })
    }

    /// The absolute URI Strex signed for a request whose path and raw query we received.
    ///
    /// The query is appended exactly as it arrived, still percent-encoded: Strex signs it
    /// that way, and decoding or reordering it breaks the signature.
    pub fn absolute_uri(&self, path: &str, raw_query: Option<&str>) -> String {
        let path = if path.is_empty() { "/" } else { path };
        match raw_query {
            Some(query) => format!("{}{path}?{query}", self.base),
            None => format!("{}{path}", self.base),
        }
    }

    pub fn as_str(&self) -> &str {
        &self.base
    }
}

/// lower(method) + lower(absolute URI) + timestamp + nonce + content hash, where the content
/// hash is base64 of the raw body's SHA-256, or nothing at all for an empty body.
pub fn signed_message(
    method: &str,
    absolute_uri: &str,
    timestamp: &str,
    nonce: &str,
    body: &[u8],
) -> String {
    let content_hash = if body.is_empty() {
        String::new()
    } else {
        STANDARD.encode(Sha256::digest(body))
    };
    format!(
        "{}{}{timestamp}{nonce}{content_hash}",
        method.to_lowercase(),
        absolute_uri.to_lowercase()
    )
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_public_url_supplies_scheme_host_and_prefix_and_the_request_the_rest() {
        let url = PublicUrl::parse("https://Connector.example.com:443/strex/").unwrap();

        let uri = url.absolute_uri("/forward/dlr", Some("tenant=Acme%2BCo&b=1"));

        assert_eq!(
            uri,
            "https://connector.example.com/strex/forward/dlr?tenant=Acme%2BCo&b=1"
        );
    }

    #[test]
    fn a_non_default_port_is_kept_and_a_default_one_dropped() {
        let with_port = PublicUrl::parse("http://example.com:8080").unwrap();
        let default_port = PublicUrl::parse("http://example.com:80").unwrap();

        assert_eq!(
            with_port.absolute_uri("/forward/mo", None),
            "http://example.com:8080/forward/mo"
        );
        assert_eq!(
            default_port.absolute_uri("/forward/mo", None),
            "http://example.com/forward/mo"
        );
    }

    #[test]
    fn public_urls_that_cannot_be_what_strex_posts_to_are_refused() {
        for text in [
            "not a url",
            "ftp://example.com",
            "https://example.com/?a=1",
            "https://u@example.com",
        ] {
            assert!(PublicUrl::parse(text).is_err(), "{text}");
        }
    }

    #[test]
    fn an_empty_body_adds_nothing_to_the_message() {
        let message = signed_message("POST", "https://X/y", "1", "n", b"");

        assert_eq!(message, "posthttps://x/y1n");
    }
}
