//! HTTPS: the server's certificate is verified by default; a CA file makes
//! a private CA trusted; `--insecure` works but warns loudly.

mod common;

use std::path::Path;
use std::process::Command;
use std::time::Duration;

use common::tail::Tail;
use common::{PeerKind, PeerServer};

const LONG: Duration = Duration::from_secs(30);

/// Makes a CA and a certificate for 127.0.0.1 signed by it, in `dir`.
fn make_certificates(dir: &Path) {
    let run = |args: &[&str]| {
        let out = Command::new("openssl")
            .args(args)
            .current_dir(dir)
            .output()
            .expect("openssl is installed");
        assert!(
            out.status.success(),
            "openssl {args:?}: {}",
            String::from_utf8_lossy(&out.stderr)
        );
    };
    run(&[
        "req",
        "-x509",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "ca.key",
        "-out",
        "ca.pem",
        "-days",
        "2",
        "-subj",
        "/CN=cometwatch test CA",
        "-addext",
        "basicConstraints=critical,CA:TRUE",
        "-addext",
        "keyUsage=critical,keyCertSign",
    ]);
    run(&[
        "req",
        "-newkey",
        "rsa:2048",
        "-nodes",
        "-keyout",
        "server.key",
        "-out",
        "server.csr",
        "-subj",
        "/CN=127.0.0.1",
    ]);
    std::fs::write(
        dir.join("ext.cnf"),
        "subjectAltName=IP:127.0.0.1\nbasicConstraints=CA:FALSE\nextendedKeyUsage=serverAuth\n",
    )
    .expect("write");
    run(&[
        "x509",
        "-req",
        "-in",
        "server.csr",
        "-CA",
        "ca.pem",
        "-CAkey",
        "ca.key",
        "-CAcreateserial",
        "-out",
        "server.pem",
        "-days",
        "2",
        "-extfile",
        "ext.cnf",
    ]);
}

#[test]
fn https_is_verified_and_a_private_ca_can_be_trusted() {
    let dir = tempfile::tempdir().expect("tempdir");
    make_certificates(dir.path());
    let cert = dir.path().join("server.pem");
    let key = dir.path().join("server.key");
    let mut server = PeerServer::start(
        PeerKind::Faye,
        0,
        &[
            ("TLS_CERT", cert.to_str().expect("utf8")),
            ("TLS_KEY", key.to_str().expect("utf8")),
        ],
    );
    let url = server.https_url();

    // Not trusted by default: refused with a clear reason, and retried.
    let mut refused = Tail::start(&["--url", &url, "/s/*"]);
    refused.wait_stderr("secure connection failed", LONG);
    refused.wait_stderr("retrying in", LONG);
    let stderr = refused.drain_stderr().join("\n");
    assert!(
        stderr.to_lowercase().contains("certificate") || stderr.contains("Issuer"),
        "{stderr}"
    );
    drop(refused);

    // Trusted with --ca-cert.
    let ca = dir.path().join("ca.pem");
    let mut trusted = Tail::start(&[
        "--url",
        &url,
        "--ca-cert",
        ca.to_str().expect("utf8"),
        "--count",
        "2",
        "/s/*",
    ]);
    trusted.wait_stderr("subscribed to /s/*", LONG);
    server.publish("/s/x", 2, 0);
    let lines = trusted.read_lines(2, LONG);
    assert_eq!(lines[1]["data"]["seq"], 1);
    assert_eq!(trusted.wait_exit(LONG), 0);

    // --insecure connects, but says loudly that nothing is verified.
    let mut insecure = Tail::start(&["--url", &url, "--insecure", "--count", "1", "/s/*"]);
    insecure.wait_stderr("WARNING: --insecure", LONG);
    insecure.wait_stderr("subscribed to /s/*", LONG);
    server.publish("/s/x", 1, 5);
    assert_eq!(insecure.read_lines(1, LONG)[0]["data"]["seq"], 5);
}

#[test]
fn a_bad_ca_file_is_a_clear_error() {
    let dir = tempfile::tempdir().expect("tempdir");
    let bogus = dir.path().join("bogus.pem");
    std::fs::write(&bogus, "not a certificate").expect("write");
    let mut tail = Tail::start(&[
        "--url",
        "https://127.0.0.1:9/cometd",
        "--ca-cert",
        bogus.to_str().expect("utf8"),
        "/a",
    ]);
    assert_ne!(tail.wait_exit(LONG), 0);
    let stderr = tail.drain_stderr().join("\n");
    assert!(
        stderr.contains("bogus.pem") && stderr.contains("no PEM certificate"),
        "{stderr}"
    );
}
