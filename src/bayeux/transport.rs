//! Long polling over HTTP with `ureq`: POSTs a JSON batch, returns the
//! reply body.
//!
//! - `application/json` bodies with `Content-Length` (never chunked);
//! - a cookie jar per session (CometD needs its `BAYEUX_BROWSER` cookie,
//!   also on 127.0.0.1);
//! - a bound on the reply size, reported as a clear error;
//! - HTTPS verified by default (rustls, Mozilla's roots, or a CA file the
//!   user trusts instead), extra headers such as `Authorization`, and a
//!   bearer token a token command renews ([`BearerToken`]);
//! - a request is sent again only when that cannot duplicate anything: it
//!   is [`Request::repeatable`] (no publish in it: handshakes, connects,
//!   subscribes and disconnects may arrive twice harmlessly) and it failed
//!   with a broken connection before the reply's head was read (a server
//!   closing a pooled connection under us). A publish is never re-sent: the
//!   server may have published it before the connection broke;
//! - a redirect is followed once per request, and only to the same origin
//!   or its https upgrade, where the credentials may go; any other
//!   redirect is a [`TransportError::Redirect`], final for the session.
//!
//! [`Transport`] is the seam for other transports (WebSocket, tests).

use super::resolver::ReusingResolver;
use std::collections::BTreeMap;
use std::io::Read;
use std::path::{Path, PathBuf};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use ureq::unversioned::transport::DefaultConnector;

use bytes::Bytes;
use thiserror::Error;

use super::token::BearerToken;
use ureq::Agent;
use ureq::tls::{PemItem, RootCerts, TlsConfig};

/// Default bound on a reply body.
pub const DEFAULT_MAX_RESPONSE_BYTES: u64 = 16 * 1024 * 1024;
/// Most cookies kept per session, and longest cookie kept.
const MAX_COOKIES: usize = 64;
const MAX_COOKIE_LEN: usize = 4096;
/// Node servers close idle keep-alive connections after about 5 s; never
/// reuse one older than this.
const MAX_IDLE_AGE: Duration = Duration::from_secs(4);

/// Why a request failed, in words a user understands.
#[derive(Debug, Error)]
pub enum TransportError {
    /// The URL cannot be used.
    #[error("invalid server URL `{url}`: {reason}")]
    InvalidUrl {
        /// The URL as given.
        url: String,
        /// Why.
        reason: String,
    },
    /// An extra header is not of the form `Name: value`.
    #[error("invalid header `{0}`: expected `Name: value`")]
    InvalidHeader(String),
    /// The CA certificate file could not be used.
    #[error("cannot use CA certificate file {path}: {reason}")]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why.
        reason: String,
    },
    /// The server answered with an HTTP error status.
    #[error("the server answered HTTP {status}{}", snippet_suffix(.snippet))]
    Status {
        /// The status code.
        status: u16,
        /// The start of the body, for context.
        snippet: String,
    },
    /// The reply was larger than allowed.
    #[error("the server's reply is larger than the limit of {limit} bytes")]
    TooLarge {
        /// The limit.
        limit: u64,
    },
    /// No reply in time.
    #[error("no reply from the server within {} s", .0.as_secs_f64().round())]
    Timeout(Duration),
    /// The connection could not be made.
    #[error("cannot connect to {host}: {reason}")]
    Connect {
        /// host:port
        host: String,
        /// Why.
        reason: String,
    },
    /// TLS failed (certificate not trusted, handshake error).
    #[error("secure connection failed: {0}")]
    Tls(String),
    /// The connection broke.
    #[error("connection error: {0}")]
    Io(String),
    /// The server redirects where cometwatch does not follow.
    #[error("the server redirects (HTTP {status}) to {location}: {why}")]
    Redirect {
        /// The status code.
        status: u16,
        /// Where to.
        location: String,
        /// Why it is not followed.
        why: String,
    },
}

fn snippet_suffix(snippet: &str) -> String {
    if snippet.is_empty() {
        " with an empty body".to_owned()
    } else {
        format!(": {snippet}")
    }
}

impl TransportError {
    /// True for failures a retry on a fresh connection may fix (the server
    /// closed a pooled connection under us).
    fn is_stale_connection(&self) -> bool {
        matches!(self, TransportError::Io(_))
    }

    /// True when the server refused the credentials (HTTP 401 or 403).
    pub fn rejects_credentials(&self) -> bool {
        matches!(
            self,
            TransportError::Status {
                status: 401 | 403,
                ..
            }
        )
    }

    /// True for failures no retry can fix.
    pub fn is_final(&self) -> bool {
        matches!(self, TransportError::Redirect { .. })
    }
}

/// One request to send.
#[derive(Debug, Clone, Copy)]
pub struct Request<'a> {
    /// The JSON array to POST.
    pub body: &'a [u8],
    /// Give up waiting for the reply after this long.
    pub timeout: Duration,
    /// Sending it twice duplicates nothing (see the module docs).
    pub repeatable: bool,
}

/// Something that carries Bayeux batches to a server and back.
pub trait Transport: Send + Sync {
    /// Sends a request and returns the reply body.
    fn send(&self, request: &Request<'_>) -> Result<Bytes, TransportError>;

    /// The server URL, for display.
    fn url(&self) -> &str;
}

/// Most bytes reserved up front for a reply from its `Content-Length`
/// (a bigger reply grows its buffer as it arrives).
const PREALLOCATE_AT_MOST: u64 = 8 * 1024 * 1024;

/// Settings of the HTTP transport.
#[derive(Clone, Default)]
pub struct TransportConfig {
    /// Largest reply accepted (default 16 MiB).
    pub max_response_bytes: Option<u64>,
    /// Extra headers sent with every request.
    pub headers: Vec<(String, String)>,
    /// A PEM file of CA certificates to trust instead of the built-in roots.
    pub ca_cert: Option<PathBuf>,
    /// Skip certificate verification (dangerous; callers must warn).
    pub insecure: bool,
    /// A bearer token renewed by a token command; when set it is sent as
    /// `Authorization` instead of any header of that name.
    pub token: BearerToken,
}

impl std::fmt::Debug for TransportConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        // Header values may be credentials: names only.
        f.debug_struct("TransportConfig")
            .field("max_response_bytes", &self.max_response_bytes)
            .field(
                "headers",
                &self.headers.iter().map(|(n, _)| n).collect::<Vec<_>>(),
            )
            .field("ca_cert", &self.ca_cert)
            .field("insecure", &self.insecure)
            .field("token", &self.token)
            .finish()
    }
}

/// Parses `Name: value` into a header pair.
pub fn parse_header(text: &str) -> Result<(String, String), TransportError> {
    let Some((name, value)) = text.split_once(':') else {
        return Err(TransportError::InvalidHeader(redact_header(text)));
    };
    let name = name.trim();
    let valid_name = !name.is_empty()
        && name
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || b"-_!#$%&'*+.^`|~".contains(&b));
    if !valid_name || value.contains(['\r', '\n']) {
        return Err(TransportError::InvalidHeader(redact_header(text)));
    }
    Ok((name.to_owned(), value.trim().to_owned()))
}

fn redact_header(text: &str) -> String {
    match text.split_once(':') {
        Some((name, _)) => format!("{name}: …"),
        None => "…".to_owned(),
    }
}

/// A minimal cookie jar: name → value, for the one server of a session.
#[derive(Debug, Default)]
struct CookieJar {
    cookies: BTreeMap<String, String>,
}

impl CookieJar {
    fn store(&mut self, set_cookie: &str) {
        let mut parts = set_cookie.split(';');
        let Some((name, value)) = parts.next().and_then(|p| p.split_once('=')) else {
            return;
        };
        let name = name.trim();
        let value = value.trim();
        if name.is_empty() || name.len() + value.len() > MAX_COOKIE_LEN {
            return;
        }
        let expired = parts.any(|attr| {
            let attr = attr.trim();
            attr.len() > 8
                && attr[..8].eq_ignore_ascii_case("max-age=")
                && attr[8..].trim().parse::<i64>().is_ok_and(|age| age <= 0)
        });
        if expired {
            self.cookies.remove(name);
        } else if self.cookies.contains_key(name) || self.cookies.len() < MAX_COOKIES {
            self.cookies.insert(name.to_owned(), value.to_owned());
        }
    }

    fn header(&self) -> Option<String> {
        if self.cookies.is_empty() {
            return None;
        }
        Some(
            self.cookies
                .iter()
                .map(|(n, v)| format!("{n}={v}"))
                .collect::<Vec<_>>()
                .join("; "),
        )
    }
}

/// Long polling over HTTP(S) with `ureq`.
pub struct HttpTransport {
    url: String,
    /// Where requests go: `url`, or where a followed redirect led.
    target: Mutex<String>,
    host: String,
    agent: Agent,
    headers: Vec<(String, String)>,
    token: BearerToken,
    max_response_bytes: u64,
    cookies: Mutex<CookieJar>,
}

impl std::fmt::Debug for HttpTransport {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("HttpTransport")
            .field("url", &self.url)
            .finish_non_exhaustive()
    }
}

impl HttpTransport {
    /// A transport for `url` (http or https).
    pub fn new(url: &str, config: &TransportConfig) -> Result<Self, TransportError> {
        let host = host_of(url)?;
        let mut tls = TlsConfig::builder();
        if let Some(path) = &config.ca_cert {
            tls = tls.root_certs(load_ca_file(path)?);
        }
        if config.insecure {
            tls = tls.disable_verification(true);
        }
        let agent_config = Agent::config_builder()
            .http_status_as_error(false)
            .max_idle_connections_per_host(2)
            .max_idle_connections(2)
            .max_idle_age(MAX_IDLE_AGE)
            .max_redirects(0)
            .user_agent(concat!("cometwatch/", env!("CARGO_PKG_VERSION")))
            .tls_config(tls.build())
            .build();
        let agent = Agent::with_parts(
            agent_config,
            DefaultConnector::new(),
            ReusingResolver::new(),
        );
        Ok(Self {
            url: url.to_owned(),
            target: Mutex::new(url.to_owned()),
            host,
            agent,
            headers: config.headers.clone(),
            token: config.token.clone(),
            max_response_bytes: config
                .max_response_bytes
                .unwrap_or(DEFAULT_MAX_RESPONSE_BYTES),
            cookies: Mutex::new(CookieJar::default()),
        })
    }

    /// One attempt. The error says whether the reply's head had been read.
    fn send_once(&self, url: &str, body: &[u8], timeout: Duration) -> Result<Bytes, Failure> {
        let before_reply = |error| Failure {
            error,
            before_reply: true,
        };
        let after_reply = |error| Failure {
            error,
            before_reply: false,
        };
        let mut request = self
            .agent
            .post(url)
            .header("Content-Type", "application/json;charset=UTF-8");
        let bearer = self.token.header_value();
        for (name, value) in &self.headers {
            if bearer.is_some() && name.eq_ignore_ascii_case("authorization") {
                continue;
            }
            request = request.header(name.as_str(), value.as_str());
        }
        if let Some(bearer) = bearer {
            request = request.header("Authorization", bearer);
        }
        let cookie = self.cookies.lock().ok().and_then(|jar| jar.header());
        if let Some(cookie) = cookie {
            request = request.header("Cookie", cookie);
        }
        let mut response = request
            .config()
            .timeout_global(Some(timeout))
            .build()
            .send(body)
            .map_err(|e| before_reply(self.map_error(e, timeout)))?;
        if let Ok(mut jar) = self.cookies.lock() {
            for value in response.headers().get_all("set-cookie") {
                if let Ok(text) = value.to_str() {
                    jar.store(text);
                }
            }
        }
        let status = response.status().as_u16();
        if matches!(status, 301 | 302 | 303 | 307 | 308) {
            let location = response
                .headers()
                .get("location")
                .and_then(|v| v.to_str().ok())
                .map(str::trim)
                .unwrap_or("")
                .to_owned();
            return Err(after_reply(TransportError::Redirect {
                status,
                location,
                why: String::new(),
            }));
        }
        if !(200..300).contains(&status) {
            let snippet = response
                .body_mut()
                .with_config()
                .limit(4096)
                .read_to_vec()
                .map(|bytes| summarize_body(&bytes))
                .unwrap_or_default();
            return Err(after_reply(TransportError::Status { status, snippet }));
        }
        // One buffer of the announced size (within the limit), so a big
        // reply is not copied as a growing buffer doubles.
        let announced = response
            .headers()
            .get("content-length")
            .and_then(|v| v.to_str().ok())
            .and_then(|v| v.trim().parse::<u64>().ok())
            .unwrap_or(0)
            .min(self.max_response_bytes)
            .min(PREALLOCATE_AT_MOST);
        let mut bytes = Vec::with_capacity(announced as usize);
        response
            .body_mut()
            .with_config()
            .limit(self.max_response_bytes)
            .reader()
            .read_to_end(&mut bytes)
            .map_err(|e| after_reply(self.map_error(ureq::Error::from(e), timeout)))?;
        Ok(Bytes::from(bytes))
    }

    /// Where a redirect from `from` to `location` may be followed: the
    /// same origin, or the https upgrade of the same host.
    fn redirect_target(from: &str, location: &str) -> Result<String, String> {
        let target = resolve_location(from, location)
            .ok_or_else(|| "the redirect names no usable URL".to_owned())?;
        let (Some(old), Some(new)) = (Origin::of(from), Origin::of(&target)) else {
            return Err("the redirect names no usable URL".into());
        };
        let upgrade = old.scheme == "http" && new.scheme == "https" && old.host == new.host;
        if old == new || upgrade {
            Ok(target)
        } else {
            Err(format!(
                "another origin than {from}; credentials go only to the server given, \
                 so cometwatch does not follow it (use --url {target} if you trust it)"
            ))
        }
    }

    fn map_error(&self, error: ureq::Error, timeout: Duration) -> TransportError {
        match error {
            ureq::Error::Timeout(_) => TransportError::Timeout(timeout),
            ureq::Error::BodyExceedsLimit(_) => TransportError::TooLarge {
                limit: self.max_response_bytes,
            },
            ureq::Error::HostNotFound => TransportError::Connect {
                host: self.host.clone(),
                reason: "host not found".into(),
            },
            ureq::Error::ConnectionFailed => TransportError::Connect {
                host: self.host.clone(),
                reason: "connection failed".into(),
            },
            ureq::Error::Io(io) if is_tls_error(&io) => TransportError::Tls(describe_tls(&io)),
            ureq::Error::Io(io) if is_connect_error(&io) => TransportError::Connect {
                host: self.host.clone(),
                reason: describe_io(&io),
            },
            ureq::Error::Io(io) => TransportError::Io(describe_io(&io)),
            ureq::Error::Tls(text) => TransportError::Tls(text.to_owned()),
            ureq::Error::Rustls(e) => TransportError::Tls(e.to_string()),
            ureq::Error::BadUri(text) => TransportError::InvalidUrl {
                url: self.url.clone(),
                reason: text,
            },
            other => TransportError::Io(other.to_string()),
        }
    }
}

/// A failed attempt, and whether it failed before the reply's head.
struct Failure {
    error: TransportError,
    before_reply: bool,
}

impl Transport for HttpTransport {
    fn send(&self, request: &Request<'_>) -> Result<Bytes, TransportError> {
        let mut url = self
            .target
            .lock()
            .map(|t| t.clone())
            .unwrap_or_else(|_| self.url.clone());
        let mut resent = false;
        let mut redirected = false;
        loop {
            match self.send_once(&url, request.body, request.timeout) {
                Ok(body) => return Ok(body),
                Err(Failure {
                    error:
                        TransportError::Redirect {
                            status, location, ..
                        },
                    ..
                }) => {
                    if redirected {
                        return Err(TransportError::Redirect {
                            status,
                            location,
                            why: "a second redirect for one request".into(),
                        });
                    }
                    match Self::redirect_target(&url, &location) {
                        Ok(target) => {
                            redirected = true;
                            url.clone_from(&target);
                            if let Ok(mut slot) = self.target.lock() {
                                *slot = target;
                            }
                        }
                        Err(why) => {
                            return Err(TransportError::Redirect {
                                status,
                                location,
                                why,
                            });
                        }
                    }
                }
                Err(Failure {
                    error,
                    before_reply: true,
                }) if request.repeatable && !resent && error.is_stale_connection() => {
                    resent = true;
                }
                Err(failure) => return Err(failure.error),
            }
        }
    }

    fn url(&self) -> &str {
        &self.url
    }
}

/// rustls failures reach us as `InvalidData` I/O errors wrapping them.
fn is_tls_error(io: &std::io::Error) -> bool {
    let text = io.to_string();
    io.kind() == std::io::ErrorKind::InvalidData
        && (text.contains("certificate") || text.contains("peer") || text.contains("TLS"))
}

fn describe_tls(io: &std::io::Error) -> String {
    let text = io.to_string();
    if text.contains("invalid peer certificate") {
        format!(
            "the server's certificate is not trusted ({}); to trust a private CA use --ca-cert FILE",
            text.trim_start_matches("invalid peer certificate: ")
        )
    } else {
        text
    }
}

fn is_connect_error(io: &std::io::Error) -> bool {
    use std::io::ErrorKind::*;
    matches!(
        io.kind(),
        ConnectionRefused | AddrNotAvailable | NetworkUnreachable | HostUnreachable
    )
}

fn describe_io(io: &std::io::Error) -> String {
    use std::io::ErrorKind::*;
    match io.kind() {
        ConnectionRefused => "connection refused (is the server running?)".into(),
        ConnectionReset => "the server reset the connection".into(),
        ConnectionAborted => "the connection was aborted".into(),
        UnexpectedEof => "the server closed the connection before the reply was complete".into(),
        BrokenPipe => "the server closed the connection".into(),
        _ => io.to_string(),
    }
}

/// The start of a body as one readable line.
fn summarize_body(bytes: &[u8]) -> String {
    let text = String::from_utf8_lossy(&bytes[..bytes.len().min(200)]);
    let text: String = text
        .chars()
        .map(|c| if c.is_control() { ' ' } else { c })
        .collect();
    let text = text.split_whitespace().collect::<Vec<_>>().join(" ");
    if bytes.len() > 200 {
        format!("{text}…")
    } else {
        text
    }
}

/// The scheme, host and port of a URL: where credentials may go.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Origin {
    /// `http` or `https`.
    pub scheme: String,
    /// The host, lower case.
    pub host: String,
    /// The port (the scheme's default when not given).
    pub port: u16,
}

impl Origin {
    /// The origin of an http(s) URL.
    pub fn of(url: &str) -> Option<Self> {
        let (scheme, rest) = url.split_once("://")?;
        let scheme = scheme.to_ascii_lowercase();
        let default_port = match scheme.as_str() {
            "http" => 80,
            "https" => 443,
            _ => return None,
        };
        let authority = rest.split(['/', '?', '#']).next()?;
        let authority = authority.rsplit('@').next()?;
        let (host, port) = match authority.rsplit_once(':') {
            Some((host, port)) if !port.contains(']') => (host, port.parse().ok()?),
            _ => (authority, default_port),
        };
        if host.is_empty() {
            return None;
        }
        Some(Self {
            scheme,
            host: host.to_ascii_lowercase(),
            port,
        })
    }
}

/// A redirect's `Location` as a full URL, resolved against `from`.
fn resolve_location(from: &str, location: &str) -> Option<String> {
    if location.is_empty() {
        return None;
    }
    if location.starts_with("http://") || location.starts_with("https://") {
        return Some(location.to_owned());
    }
    let (scheme, rest) = from.split_once("://")?;
    let path_start = rest.find('/').unwrap_or(rest.len());
    let authority = &rest[..path_start];
    if let Some(path) = location.strip_prefix('/') {
        return Some(format!("{scheme}://{authority}/{path}"));
    }
    let path = &rest[path_start..];
    let directory = &path[..path.rfind('/').map_or(0, |i| i + 1)];
    let directory = if directory.is_empty() { "/" } else { directory };
    Some(format!("{scheme}://{authority}{directory}{location}"))
}

fn host_of(url: &str) -> Result<String, TransportError> {
    let invalid = |reason: &str| TransportError::InvalidUrl {
        url: url.to_owned(),
        reason: reason.to_owned(),
    };
    let rest = url
        .strip_prefix("http://")
        .or_else(|| url.strip_prefix("https://"))
        .ok_or_else(|| invalid("it must start with http:// or https://"))?;
    let authority = rest.split(['/', '?', '#']).next().unwrap_or("");
    let host = authority.rsplit('@').next().unwrap_or(authority);
    if host.is_empty() {
        return Err(invalid("it has no host"));
    }
    url.parse::<ureq::http::Uri>()
        .map_err(|e| invalid(&e.to_string()))?;
    Ok(host.to_owned())
}

fn load_ca_file(path: &Path) -> Result<RootCerts, TransportError> {
    let fail = |reason: String| TransportError::CaFile {
        path: path.to_owned(),
        reason,
    };
    let pem = std::fs::read(path).map_err(|e| fail(e.to_string()))?;
    let mut certs = Vec::new();
    for item in ureq::tls::parse_pem(&pem) {
        match item.map_err(|e| fail(e.to_string()))? {
            PemItem::Certificate(cert) => certs.push(cert),
            _ => continue,
        }
    }
    if certs.is_empty() {
        return Err(fail("it contains no PEM certificate".into()));
    }
    Ok(RootCerts::from(certs))
}

/// A transport shared by the lane workers.
pub type SharedTransport = Arc<dyn Transport>;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn cookie_jar_keeps_sets_and_expires() {
        let mut jar = CookieJar::default();
        assert_eq!(jar.header(), None);
        jar.store("BAYEUX_BROWSER=abc123; Path=/; HttpOnly");
        jar.store("other=1");
        assert_eq!(
            jar.header().as_deref(),
            Some("BAYEUX_BROWSER=abc123; other=1")
        );
        jar.store("other=gone; Max-Age=0");
        assert_eq!(jar.header().as_deref(), Some("BAYEUX_BROWSER=abc123"));
        jar.store("garbage-without-equals");
        jar.store(&format!("big={}", "x".repeat(MAX_COOKIE_LEN)));
        assert_eq!(jar.cookies.len(), 1);
        for i in 0..1000 {
            jar.store(&format!("c{i}=v"));
        }
        assert_eq!(jar.cookies.len(), MAX_COOKIES);
    }

    #[test]
    fn headers_parse_and_errors_hide_values() {
        assert_eq!(
            parse_header("Authorization: Bearer xyz").expect("valid"),
            ("Authorization".into(), "Bearer xyz".into())
        );
        let err = parse_header("Bad Name: secret").unwrap_err().to_string();
        assert!(!err.contains("secret"), "{err}");
        assert!(parse_header("novalue").is_err());
        assert!(parse_header("X-A: a\r\nInjected: b").is_err());
    }

    #[test]
    fn urls_are_checked() {
        assert_eq!(
            host_of("http://127.0.0.1:8080/cometd").expect("ok"),
            "127.0.0.1:8080"
        );
        assert!(host_of("ftp://x").is_err());
        assert!(host_of("http:///x").is_err());
        let debug = format!(
            "{:?}",
            TransportConfig {
                headers: vec![("Authorization".into(), "Bearer secret".into())],
                ..TransportConfig::default()
            }
        );
        assert!(!debug.contains("secret"));
    }

    #[test]
    fn connection_refused_is_a_clear_error() {
        // Bind and drop to get a port nobody listens on.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .and_then(|l| l.local_addr())
            .map(|a| a.port())
            .expect("free port");
        let t = HttpTransport::new(
            &format!("http://127.0.0.1:{port}/cometd"),
            &TransportConfig::default(),
        )
        .expect("valid");
        let err = t
            .send(&Request {
                body: b"[]",
                timeout: Duration::from_secs(2),
                repeatable: true,
            })
            .unwrap_err();
        assert!(matches!(err, TransportError::Connect { .. }), "{err:?}");
        assert!(err.to_string().contains("127.0.0.1"), "{err}");
    }

    #[test]
    fn missing_ca_file_is_reported() {
        let err = HttpTransport::new(
            "https://127.0.0.1:1/",
            &TransportConfig {
                ca_cert: Some("/nonexistent/ca.pem".into()),
                ..TransportConfig::default()
            },
        )
        .unwrap_err();
        assert!(err.to_string().contains("/nonexistent/ca.pem"), "{err}");
    }

    #[test]
    fn origins_and_redirect_targets() {
        let origin = Origin::of("http://Example.org/cometd").expect("valid");
        assert_eq!((origin.host.as_str(), origin.port), ("example.org", 80));
        assert_eq!(Origin::of("https://a:8443/x").map(|o| o.port), Some(8443));
        assert_eq!(Origin::of("ftp://a/x"), None);
        assert_ne!(Origin::of("http://a:1/"), Origin::of("http://a:2/"));
        let from = "http://a:1/cometd/x";
        assert_eq!(
            HttpTransport::redirect_target(from, "/other").as_deref(),
            Ok("http://a:1/other")
        );
        assert_eq!(
            HttpTransport::redirect_target(from, "y").as_deref(),
            Ok("http://a:1/cometd/y")
        );
        assert_eq!(
            HttpTransport::redirect_target(from, "https://a/cometd").as_deref(),
            Ok("https://a/cometd")
        );
        let refused = HttpTransport::redirect_target(from, "http://evil:1/").unwrap_err();
        assert!(refused.contains("another origin"), "{refused}");
        // Never from https down to http.
        assert!(HttpTransport::redirect_target("https://a/x", "http://a/x").is_err());
    }

    #[test]
    fn body_summary_is_one_bounded_line() {
        let s = summarize_body(b"<html>\n<body>Bad   Gateway</body>\n</html>");
        assert_eq!(s, "<html> <body>Bad Gateway</body> </html>");
        assert!(summarize_body(&[b'x'; 1000]).chars().count() <= 201);
    }
}
