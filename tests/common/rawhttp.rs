//! A minimal blocking HTTP/1.1 client over one TCP connection, for tests
//! that need exact control (bad input, thousands of held long polls).

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::time::Duration;

/// One keep-alive connection.
pub struct RawConnection {
    reader: BufReader<TcpStream>,
    writer: TcpStream,
    pub cookie: Option<String>,
}

/// A parsed response.
#[derive(Debug)]
pub struct RawResponse {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Vec<u8>,
}

impl RawResponse {
    pub fn json(&self) -> serde_json::Value {
        serde_json::from_slice(&self.body).unwrap_or(serde_json::Value::Null)
    }

    pub fn header(&self, name: &str) -> Option<&str> {
        self.headers
            .iter()
            .find(|(n, _)| n.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    }
}

impl RawConnection {
    pub fn open(addr: SocketAddr) -> Self {
        let stream = TcpStream::connect(addr).expect("connect");
        stream
            .set_read_timeout(Some(Duration::from_secs(60)))
            .expect("timeout");
        Self {
            writer: stream.try_clone().expect("clone"),
            reader: BufReader::new(stream),
            cookie: None,
        }
    }

    /// Sends a request without waiting for the answer.
    pub fn send(&mut self, method: &str, path: &str, body: &[u8]) {
        let cookie = self
            .cookie
            .as_ref()
            .map(|c| format!("Cookie: {c}\r\n"))
            .unwrap_or_default();
        let head = format!(
            "{method} {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\n{cookie}Content-Length: {}\r\n\r\n",
            body.len()
        );
        self.writer.write_all(head.as_bytes()).expect("write");
        self.writer.write_all(body).expect("write");
    }

    /// Sends a request whose body follows its head after `pause`, as a
    /// slow client's would, and reads the answer.
    pub fn post_slowly(&mut self, path: &str, body: &[u8], pause: Duration) -> RawResponse {
        let head = format!(
            "POST {path} HTTP/1.1\r\nHost: 127.0.0.1\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n",
            body.len()
        );
        self.writer.write_all(head.as_bytes()).expect("write");
        std::thread::sleep(pause);
        self.writer.write_all(body).expect("write");
        self.receive()
    }

    /// Reads one response.
    pub fn receive(&mut self) -> RawResponse {
        let mut line = String::new();
        self.reader.read_line(&mut line).expect("status line");
        let status = line
            .split_whitespace()
            .nth(1)
            .and_then(|s| s.parse().ok())
            .unwrap_or_else(|| panic!("bad status line {line:?}"));
        let mut headers = Vec::new();
        let mut length = 0;
        loop {
            line.clear();
            self.reader.read_line(&mut line).expect("header");
            let header = line.trim_end();
            if header.is_empty() {
                break;
            }
            if let Some((n, v)) = header.split_once(':') {
                if n.eq_ignore_ascii_case("content-length") {
                    length = v.trim().parse().unwrap_or(0);
                }
                if n.eq_ignore_ascii_case("set-cookie") {
                    self.cookie = v.trim().split(';').next().map(str::to_owned);
                }
                headers.push((n.to_owned(), v.trim().to_owned()));
            }
        }
        let mut body = vec![0; length];
        self.reader.read_exact(&mut body).expect("body");
        RawResponse {
            status,
            headers,
            body,
        }
    }

    /// Sends and reads.
    pub fn post(&mut self, path: &str, body: &[u8]) -> RawResponse {
        self.send("POST", path, body);
        self.receive()
    }

    /// POSTs JSON messages to /cometd.
    pub fn bayeux(&mut self, messages: serde_json::Value) -> RawResponse {
        let body = serde_json::to_vec(&messages).expect("json");
        self.post("/cometd", &body)
    }

    /// A long-polling handshake with message id `id`.
    pub fn handshake(&mut self, id: &str) -> RawResponse {
        self.bayeux(
            serde_json::json!([{"channel": "/meta/handshake", "version": "1.0",
            "supportedConnectionTypes": ["long-polling"], "id": id}]),
        )
    }
}
