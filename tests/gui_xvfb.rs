//! The real binary in a real window under Xvfb: it must draw a dashboard,
//! not a blank screen. Needs Debian's xvfb, xauth and imagemagick (`.ci/setup`
//! installs them).

#![cfg(feature = "gui")]

use std::process::Command;

#[test]
fn the_dashboard_window_is_not_blank_under_xvfb() {
    let dir = tempfile::tempdir().expect("tempdir");
    let shot = dir.path().join("shot.png");
    let runtime = dir.path().join("xdg");
    std::fs::create_dir(&runtime).expect("mkdir");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&runtime, std::fs::Permissions::from_mode(0o700)).expect("chmod");
    }
    // Screenshots every second until the dashboard has drawn (a loaded CI
    // machine may take a while), then two more seconds for live data.
    let script = format!(
        "'{bin}' & app=$!; xdotool mousemove 1270 790 2>/dev/null; \
         for i in $(seq 1 60); do sleep 1; import -window root '{shot}'; \
           n=$(identify -format %k '{shot}' 2>/dev/null || echo 0); [ \"$n\" -gt 100 ] && break; done; \
         sleep 2; import -window root '{shot}'; kill $app; wait $app 2>/dev/null; exit 0",
        bin = env!("CARGO_BIN_EXE_cometwatch"),
        shot = shot.display()
    );
    let status = Command::new("xvfb-run")
        .args(["-a", "-s", "-screen 0 1280x800x24", "sh", "-c", &script])
        .env("XDG_RUNTIME_DIR", &runtime)
        .env("XDG_DATA_HOME", dir.path())
        .env("HOME", dir.path())
        .status()
        .expect("xvfb-run must be installed (Debian packages xvfb, xauth, imagemagick, xdotool)");
    assert!(status.success(), "xvfb-run failed: {status}");
    assert!(shot.exists(), "no screenshot was taken");
    // A dashboard has many colours; a blank or black screen has one or two.
    let out = Command::new("identify")
        .args(["-format", "%k %[fx:standard_deviation]"])
        .arg(&shot)
        .output()
        .expect("imagemagick's identify");
    let text = String::from_utf8_lossy(&out.stdout);
    let mut parts = text.split_whitespace();
    let colours: u64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0);
    let deviation: f64 = parts.next().and_then(|s| s.parse().ok()).unwrap_or(0.0);
    assert!(
        colours > 100,
        "only {colours} colours: the window looks blank"
    );
    assert!(
        deviation > 0.02,
        "standard deviation {deviation}: the window looks blank"
    );
    if let Ok(keep) = std::env::var("COMETWATCH_KEEP_SCREENSHOT") {
        let _ = std::fs::copy(&shot, keep);
    }
}
