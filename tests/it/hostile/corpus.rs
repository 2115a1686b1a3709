//! The hostile requests, as tables: what is sent and the status it must get.

use reqwest::Method;

use crate::common::fixture;

/// One hostile request and the status it must get.
pub struct Case {
    pub name: &'static str,
    pub method: Method,
    pub path: &'static str,
    pub content_type: Option<&'static str>,
    pub body: Vec<u8>,
    pub signed: bool,
    pub status: u16,
}

/// A signed JSON POST.
pub fn signed(
    name: &'static str,
    path: &'static str,
    body: impl Into<Vec<u8>>,
    status: u16,
) -> Case {
    Case {
        name,
        method: Method::POST,
        path,
        content_type: Some("application/json"),
        body: body.into(),
        signed: true,
        status,
    }
}

const MO: &str = "/forward/mo";
const DLR: &str = "/forward/dlr";

/// A valid MO or DLR with one more field (which may override a required one).
fn with_field(path: &str, field: &str, value: &str) -> Vec<u8> {
    let base = if path == MO {
        r#"{"transactionId":"hostile-1","sender":"+4700000001","recipient":"2002","content":"HI""#
    } else {
        concat!(
            r#"{"transactionId":"hostile-2","recipient":"+4700000001","#,
            r#""statusCode":"Ok","detailedStatusCode":"Delivered""#
        )
    };
    format!(r#"{base},"{field}":{value}}}"#).into_bytes()
}

/// Bodies that are not a JSON object at all, or not JSON.
const NOT_AN_OBJECT: [(&str, &str, &str); 16] = [
    (
        "truncated JSON",
        MO,
        r#"{"transactionId": "t1", "sender": "#,
    ),
    ("truncated inside a string", MO, r#"{"transactionId":"t"#),
    ("empty body", MO, ""),
    ("whitespace only", DLR, " \r\n\t "),
    ("JSON null", MO, "null"),
    ("JSON array", DLR, "[1,2,3]"),
    ("JSON string", MO, r#""hello""#),
    ("JSON number", DLR, "42"),
    ("JSON boolean", MO, "true"),
    ("trailing garbage", MO, r#"{"transactionId":"t"} garbage"#),
    ("two objects", DLR, "{}{}"),
    ("a comment", MO, "/* hi */ {}"),
    ("single quotes", MO, "{'transactionId':'t'}"),
    ("a BOM and nothing else", MO, "\u{feff}"),
    (
        "a raw NUL byte in a string",
        MO,
        "{\"transactionId\":\"a\u{0}b\"}",
    ),
    ("an unquoted key", DLR, "{transactionId:1}"),
];

/// One field with a value of the wrong type or range: (name, endpoint, field, JSON value).
const WRONG_VALUES: [(&str, &str, &str, &str); 19] = [
    ("sender is a number", MO, "sender", "4798079008"),
    ("transactionId is an object", MO, "transactionId", "{}"),
    ("tags is a string", MO, "tags", r#""a,b""#),
    ("tags hold numbers", MO, "tags", "[1,2]"),
    ("properties is an array", MO, "properties", "[]"),
    ("isStopMessage is a string", MO, "isStopMessage", r#""yes""#),
    ("processAttempts is text", MO, "processAttempts", r#""3""#),
    (
        "processAttempts beyond i64",
        MO,
        "processAttempts",
        "9223372036854775808",
    ),
    (
        "processAttempts beyond u64",
        MO,
        "processAttempts",
        "99999999999999999999999",
    ),
    (
        "processAttempts is a fraction",
        MO,
        "processAttempts",
        "1.5",
    ),
    ("price beyond f64", DLR, "price", "1e400"),
    ("price below -f64", DLR, "price", "-1e400"),
    ("price is text", DLR, "price", r#""10.00""#),
    ("price is NaN", DLR, "price", "NaN"),
    ("delivered is a number", DLR, "delivered", "1"),
    (
        "smscMessageParts beyond i64",
        DLR,
        "smscMessageParts",
        "1e19",
    ),
    ("a lone surrogate escape", MO, "keywordId", r#""\ud800""#),
    ("an invalid escape", MO, "keywordId", r#""\x41""#),
    ("statusCode is null", DLR, "statusCode", "null"),
];

/// Required fields missing or blank.
const INCOMPLETE: [(&str, &str, &str); 3] = [
    (
        "missing transactionId",
        MO,
        r#"{"sender":"+4700000001","recipient":"2002","content":""}"#,
    ),
    (
        "blank sender",
        MO,
        r#"{"transactionId":"t","sender":" ","recipient":"2002","content":""}"#,
    ),
    (
        "DLR without statusCode",
        DLR,
        r#"{"transactionId":"t","recipient":"+1","detailedStatusCode":"x"}"#,
    ),
];

fn nested(depth: usize) -> Vec<u8> {
    let value = format!(r#"{{"deep":{}{}}}"#, "[".repeat(depth), "]".repeat(depth));
    with_field(MO, "properties", &value)
}

/// Bodies an authenticated sender may post that are not valid forwards: each is answered
/// 400 and stored as a rejected event.
pub fn signed_bad_bodies() -> Vec<Case> {
    let mut cases: Vec<Case> = NOT_AN_OBJECT
        .iter()
        .chain(&INCOMPLETE)
        .map(|(name, path, body)| signed(name, path, body.as_bytes(), 400))
        .collect();
    cases.extend(
        WRONG_VALUES.iter().map(|(name, path, field, value)| {
            signed(name, path, with_field(path, field, value), 400)
        }),
    );
    let invalid_utf8 = with_field(MO, "content", "\"caf\u{e9}\"")
        .into_iter()
        .filter(|byte| *byte != 0xA9)
        .collect::<Vec<u8>>();
    let utf16: Vec<u8> = "{\"a\":1}"
        .encode_utf16()
        .flat_map(u16::to_le_bytes)
        .collect();
    cases.extend([
        signed("nesting 10,000 deep", MO, nested(10_000), 400),
        signed("nesting 200 deep", MO, nested(200), 400),
        signed("invalid UTF-8 in a string", MO, invalid_utf8, 400),
        signed("a UTF-16 body", MO, utf16, 400),
    ]);
    cases
}

/// Odd but valid forwards: accepted and stored.
pub fn accepted_oddities() -> Vec<Case> {
    let duplicate_keys = concat!(
        r#"{"transactionId":"dup-a","transactionId":"dup-b","#,
        r#""sender":"+4700000002","recipient":"2002","content":"x"}"#
    );
    let long_id = "7".repeat(10_000);
    let long_id_body = format!(
        r#"{{"transactionId":"{long_id}","sender":"+4700000003","recipient":"2002","content":"x"}}"#
    );
    let long_content = format!("\"{}\"", "x".repeat(200_000));
    let many_keys: Vec<String> = (0..5_000).map(|i| format!("\"k{i}\":{i}")).collect();
    let many_keys = format!("{{{}}}", many_keys.join(","));
    let with_bom = [b"\xEF\xBB\xBF".to_vec(), fixture("mo-plain.json")].concat();
    vec![
        signed("duplicate keys (the last wins)", MO, duplicate_keys, 200),
        signed(
            "an escaped NUL",
            MO,
            with_field(MO, "keywordId", r#""a\u0000b""#),
            200,
        ),
        signed(
            "content longer than Salesforce allows",
            MO,
            with_field(MO, "content", &long_content),
            200,
        ),
        signed(
            "a transactionId longer than 255 characters",
            MO,
            long_id_body,
            400,
        ),
        signed(
            "5,000 custom properties",
            DLR,
            with_field(DLR, "properties", &many_keys),
            200,
        ),
        signed("a BOM before the object", MO, with_bom, 200),
    ]
}

/// A request line and headers: (name, method, path, Content-Type, signed, status).
type ProtocolCase = (
    &'static str,
    &'static str,
    &'static str,
    Option<&'static str>,
    bool,
    u16,
);

/// Wrong media types, methods and paths.
const PROTOCOL: [ProtocolCase; 11] = [
    ("text/plain", "POST", MO, Some("text/plain"), true, 415),
    ("no Content-Type", "POST", MO, None, true, 415),
    (
        "a form",
        "POST",
        MO,
        Some("application/x-www-form-urlencoded"),
        true,
        415,
    ),
    (
        "multipart",
        "POST",
        DLR,
        Some("multipart/form-data; boundary=x"),
        true,
        415,
    ),
    ("GET on a forward path", "GET", MO, None, false, 405),
    (
        "PUT on a forward path",
        "PUT",
        DLR,
        Some("application/json"),
        false,
        405,
    ),
    ("DELETE on a forward path", "DELETE", MO, None, false, 405),
    (
        "an unknown path",
        "POST",
        "/forward/other",
        Some("application/json"),
        false,
        404,
    ),
    (
        "a trailing slash",
        "POST",
        "/forward/mo/",
        Some("application/json"),
        false,
        404,
    ),
    (
        "a path traversal",
        "POST",
        "/forward/../admin/status",
        Some("application/json"),
        false,
        404,
    ),
    ("unsigned", "POST", MO, Some("application/json"), false, 401),
];

pub fn protocol_cases() -> Vec<Case> {
    let mut cases: Vec<Case> = PROTOCOL
        .iter()
        .map(|(name, method, path, content_type, signed, status)| Case {
            name,
            method: method.parse().unwrap(),
            path,
            content_type: *content_type,
            body: fixture("mo-minimal.json"),
            signed: *signed,
            status: *status,
        })
        .collect();
    cases.extend([
        signed("a 10 MiB body", MO, vec![b' '; 10 * 1024 * 1024], 413),
        signed(
            "one byte over the limit",
            DLR,
            vec![b'{'; 256 * 1024 + 1],
            413,
        ),
    ]);
    cases
}
