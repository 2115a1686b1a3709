//! Token requests over the shared reqwest client, for the oauth2 crate and for the JWT
//! bearer exchange alike.

use std::future::Future;
use std::pin::Pin;

use url::Url;

/// Transport failures of a token request.
#[derive(Debug, thiserror::Error)]
pub enum TransportError {
    #[error("{0}")]
    Http(#[from] reqwest::Error),
    #[error("{0}")]
    Response(#[from] http::Error),
}

/// Sends token requests; the oauth2 crate calls it through [`oauth2::AsyncHttpClient`].
pub(super) struct TokenTransport {
    http: reqwest::Client,
}

type Answer<'c> =
    Pin<Box<dyn Future<Output = Result<oauth2::HttpResponse, TransportError>> + Send + 'c>>;

impl TokenTransport {
    pub(super) fn new(http: reqwest::Client) -> TokenTransport {
        TokenTransport { http }
    }

    /// POSTs an `application/x-www-form-urlencoded` body.
    pub(super) async fn post_form(
        &self,
        url: &Url,
        form: String,
    ) -> Result<oauth2::HttpResponse, TransportError> {
        let request = http::Request::post(url.as_str())
            .header(
                http::header::CONTENT_TYPE,
                "application/x-www-form-urlencoded",
            )
            .header(http::header::ACCEPT, "application/json")
            .body(form.into_bytes())?;
        self.send(request).await
    }

    async fn send(
        &self,
        request: oauth2::HttpRequest,
    ) -> Result<oauth2::HttpResponse, TransportError> {
        let request = reqwest::Request::try_from(request)?;
        let response = self.http.execute(request).await?;
        let mut builder = http::Response::builder().status(response.status());
        for (name, value) in response.headers() {
            builder = builder.header(name, value);
        }
        let body = response.bytes().await?.to_vec();
        Ok(builder.body(body)?)
    }
}

impl<'c> oauth2::AsyncHttpClient<'c> for TokenTransport {
    type Error = TransportError;
    type Future = Answer<'c>;

    fn call(&'c self, request: oauth2::HttpRequest) -> Self::Future {
        Box::pin(self.send(request))
    }
}
