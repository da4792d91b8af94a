//! A tiny HTTP server on 127.0.0.1 whose answers a test scripts: each POST
//! body (and, for handlers that want them, its headers) is handed to a
//! closure that returns the status and body to send.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpListener, TcpStream};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::thread;
use std::time::Duration;

/// A handler of request bodies and their headers.
type Handler = dyn Fn(&[u8], &[(String, String)]) -> Reply + Send + Sync;

/// What the handler answers: status code and body bytes.
pub type Answer = (u16, Vec<u8>);

/// A reply, well-formed or not.
pub enum Reply {
    /// A normal HTTP response.
    Http(u16, Vec<u8>),
    /// These bytes as they are, then the connection is closed.
    Raw(Vec<u8>),
    /// Close the connection without answering.
    Close,
    /// Never answer (the connection stays open until the client gives up).
    Hang,
    /// A response whose body arrives one byte per `delay`.
    Drip(Vec<u8>, Duration),
}

/// The server; stops accepting when dropped.
pub struct ScriptedServer {
    pub addr: SocketAddr,
    pub requests: Arc<AtomicU64>,
    stopped: Arc<AtomicBool>,
}

impl ScriptedServer {
    /// Serves every request with `handler(request_body)`.
    pub fn start(handler: impl Fn(&[u8]) -> Answer + Send + Sync + 'static) -> Self {
        Self::start_raw(move |body| {
            let (status, answer) = handler(body);
            Reply::Http(status, answer)
        })
    }

    /// Serves every request with any [`Reply`].
    pub fn start_raw(handler: impl Fn(&[u8]) -> Reply + Send + Sync + 'static) -> Self {
        Self::start_with_headers(move |body, _headers| handler(body))
    }

    /// Serves every request with `handler(body, headers)`; header names
    /// are lower case.
    pub fn start_with_headers(
        handler: impl Fn(&[u8], &[(String, String)]) -> Reply + Send + Sync + 'static,
    ) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let requests = Arc::new(AtomicU64::new(0));
        let stopped = Arc::new(AtomicBool::new(false));
        let handler = Arc::new(handler);
        {
            let (requests, stopped) = (requests.clone(), stopped.clone());
            thread::spawn(move || {
                for stream in listener.incoming() {
                    if stopped.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(stream) = stream else { continue };
                    let (handler, requests) = (handler.clone(), requests.clone());
                    thread::spawn(move || serve(stream, &*handler, &requests));
                }
            });
        }
        Self {
            addr,
            requests,
            stopped,
        }
    }

    /// The endpoint URL.
    pub fn url(&self) -> String {
        format!("http://{}/cometd", self.addr)
    }
}

impl Drop for ScriptedServer {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn serve(stream: TcpStream, handler: &Handler, requests: &AtomicU64) {
    let Ok(write_half) = stream.try_clone() else {
        return;
    };
    let mut reader = BufReader::new(stream);
    let mut writer = write_half;
    loop {
        let mut content_length = 0usize;
        let mut headers = Vec::new();
        let mut line = String::new();
        // Request line; EOF ends the connection.
        match reader.read_line(&mut line) {
            Ok(0) | Err(_) => return,
            Ok(_) => {}
        }
        loop {
            line.clear();
            if reader.read_line(&mut line).unwrap_or(0) == 0 {
                return;
            }
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((name, value)) = header.split_once(':') {
                if name.eq_ignore_ascii_case("content-length") {
                    content_length = value.trim().parse().unwrap_or(0);
                }
                headers.push((name.trim().to_ascii_lowercase(), value.trim().to_owned()));
            }
        }
        let mut body = vec![0u8; content_length];
        if reader.read_exact(&mut body).is_err() {
            return;
        }
        requests.fetch_add(1, Ordering::SeqCst);
        let (status, answer) = match handler(&body, &headers) {
            Reply::Http(status, answer) => (status, answer),
            Reply::Raw(bytes) => {
                let _ = writer.write_all(&bytes);
                let _ = writer.shutdown(std::net::Shutdown::Both);
                return;
            }
            Reply::Close => {
                let _ = writer.shutdown(std::net::Shutdown::Both);
                return;
            }
            Reply::Hang => {
                thread::sleep(Duration::from_secs(600));
                return;
            }
            Reply::Drip(answer, delay) => {
                let head = format!(
                    "HTTP/1.1 200 OK\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
                    answer.len()
                );
                if writer.write_all(head.as_bytes()).is_err() {
                    return;
                }
                for byte in answer {
                    thread::sleep(delay);
                    if writer.write_all(&[byte]).is_err() {
                        return;
                    }
                }
                continue;
            }
        };
        let head = format!(
            "HTTP/1.1 {status} X\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            answer.len()
        );
        if writer.write_all(head.as_bytes()).is_err() || writer.write_all(&answer).is_err() {
            return;
        }
    }
}
