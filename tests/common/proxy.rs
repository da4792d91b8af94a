//! A TCP proxy on 127.0.0.1 that can cut every connection or refuse new
//! ones, to inject network faults between a client and a server.

use std::io::{Read, Write};
use std::net::{Shutdown, SocketAddr, TcpListener, TcpStream};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::thread;
use std::time::Duration;

/// The proxy; stops accepting when dropped.
pub struct FaultProxy {
    pub addr: SocketAddr,
    refusing: Arc<AtomicBool>,
    stopped: Arc<AtomicBool>,
    live: Arc<Mutex<Vec<TcpStream>>>,
    pub accepted: Arc<AtomicU64>,
}

impl FaultProxy {
    /// Forwards 127.0.0.1:<free port> to `target`.
    pub fn start(target: SocketAddr) -> Self {
        let listener = TcpListener::bind("127.0.0.1:0").expect("bind");
        let addr = listener.local_addr().expect("addr");
        let refusing = Arc::new(AtomicBool::new(false));
        let stopped = Arc::new(AtomicBool::new(false));
        let live: Arc<Mutex<Vec<TcpStream>>> = Arc::default();
        let accepted = Arc::new(AtomicU64::new(0));
        {
            let (refusing, stopped, live, accepted) = (
                refusing.clone(),
                stopped.clone(),
                live.clone(),
                accepted.clone(),
            );
            thread::spawn(move || {
                for incoming in listener.incoming() {
                    if stopped.load(Ordering::SeqCst) {
                        return;
                    }
                    let Ok(client) = incoming else { continue };
                    accepted.fetch_add(1, Ordering::SeqCst);
                    if refusing.load(Ordering::SeqCst) {
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    }
                    let Ok(server) = TcpStream::connect(target) else {
                        let _ = client.shutdown(Shutdown::Both);
                        continue;
                    };
                    if let Ok(mut list) = live.lock() {
                        list.retain(|s| s.peer_addr().is_ok());
                        if let (Ok(a), Ok(b)) = (client.try_clone(), server.try_clone()) {
                            list.push(a);
                            list.push(b);
                        }
                    }
                    pipe(&client, &server);
                    pipe(&server, &client);
                }
            });
        }
        Self {
            addr,
            refusing,
            stopped,
            live,
            accepted,
        }
    }

    /// The same URL path through the proxy.
    pub fn url(&self, path: &str) -> String {
        format!("http://{}{}", self.addr, path)
    }

    /// Closes every connection now open.
    pub fn cut_all(&self) {
        if let Ok(mut list) = self.live.lock() {
            for s in list.drain(..) {
                let _ = s.shutdown(Shutdown::Both);
            }
        }
    }

    /// New connections are closed at once while `refusing`.
    pub fn set_refusing(&self, refusing: bool) {
        self.refusing.store(refusing, Ordering::SeqCst);
        if refusing {
            self.cut_all();
        }
    }
}

impl Drop for FaultProxy {
    fn drop(&mut self) {
        self.stopped.store(true, Ordering::SeqCst);
        self.cut_all();
        // Wake the accept loop so it sees `stopped`.
        let _ = TcpStream::connect_timeout(&self.addr, Duration::from_millis(200));
    }
}

fn pipe(from: &TcpStream, to: &TcpStream) {
    let (Ok(mut from), Ok(mut to)) = (from.try_clone(), to.try_clone()) else {
        return;
    };
    thread::spawn(move || {
        let mut buf = [0u8; 16 * 1024];
        loop {
            match from.read(&mut buf) {
                Ok(0) | Err(_) => break,
                Ok(n) => {
                    if to.write_all(&buf[..n]).is_err() {
                        break;
                    }
                }
            }
        }
        let _ = to.shutdown(Shutdown::Both);
        let _ = from.shutdown(Shutdown::Both);
    });
}
