//! A real headless Chromium driven over WebDriver, for tests of the gateway's web page.
//!
//! Owns the browser's whole life: finds Debian's `chromium` + `chromedriver`, starts the driver
//! on a free loopback port in its own process group, opens a session with a throw-away profile,
//! and on Drop kills that process group so no browser process outlives a test, even a panicking
//! one. Also holds the page probes (JavaScript run in the page) that the tests assert on.
#![allow(dead_code, clippy::unwrap_used, clippy::print_stdout)]

use fantoccini::{Client, ClientBuilder};
use hyper_util::client::legacy::connect::HttpConnector;
use serde_json::{json, Value};
use std::os::unix::process::CommandExt;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};
use test_support::free_port;

/// Executables of the browser and its driver.
#[derive(Debug, Clone)]
pub struct Tools {
    pub chromium: PathBuf,
    pub chromedriver: PathBuf,
}

fn find_in_path(names: &[&str]) -> Option<PathBuf> {
    let path = std::env::var_os("PATH")?;
    names.iter().find_map(|name| {
        std::env::split_paths(&path)
            .map(|dir| dir.join(name))
            .find(|candidate| candidate.is_file())
    })
}

/// The browser tools, or why they are missing. `CHROME_BIN` / `CHROMEDRIVER` override the lookup.
pub fn tools() -> Result<Tools, String> {
    let chromium = std::env::var_os("CHROME_BIN")
        .map(PathBuf::from)
        .or_else(|| find_in_path(&["chromium", "chromium-browser", "google-chrome"]))
        .ok_or("no chromium in PATH (Debian: apt-get install chromium)")?;
    let chromedriver = std::env::var_os("CHROMEDRIVER")
        .map(PathBuf::from)
        .or_else(|| find_in_path(&["chromedriver"]))
        .ok_or("no chromedriver in PATH (Debian: apt-get install chromium-driver)")?;
    Ok(Tools {
        chromium,
        chromedriver,
    })
}

/// The tools, or `None` after explaining why the test is skipped. Under CI the browser test
/// must run (`.ci/run` installs both), so a missing tool is a failure there.
pub fn tools_or_skip(test: &str) -> Option<Tools> {
    test_support::ci::require(test, tools())
}

/// One browser at a time in this test binary: each Chromium takes most of a core, and with
/// several at once on a 2-core CI machine the pages' 1-second stats miss their deadlines.
static ONE_AT_A_TIME: tokio::sync::Mutex<()> = tokio::sync::Mutex::const_new(());

/// A chromedriver process group plus the WebDriver session talking to it.
#[derive(Debug)]
pub struct Browser {
    pub client: Client,
    driver: Child,
    _profile: tempfile::TempDir,
    _turn: tokio::sync::MutexGuard<'static, ()>,
}

impl Browser {
    /// Starts chromedriver and a headless Chromium session with page-load strategy "eager":
    /// a page holding a live WebSocket/MJPEG connection never reaches "complete".
    pub async fn start(tools: &Tools) -> Self {
        let turn = ONE_AT_A_TIME.lock().await;
        let port = free_port();
        let mut driver = Command::new(&tools.chromedriver);
        driver
            .arg(format!("--port={port}"))
            .stdin(Stdio::null())
            .stdout(Stdio::null())
            .stderr(Stdio::null())
            // Own process group: Drop kills the driver and every browser process it started.
            .process_group(0);
        let driver = driver.spawn().expect("spawn chromedriver");
        let profile = tempfile::tempdir().expect("temporary browser profile");
        let mut browser_guard = DriverGuard(Some(driver));
        let webdriver = format!("http://127.0.0.1:{port}");
        wait_driver_ready(&webdriver).await;
        let client = connect(&webdriver, &tools.chromium, profile.path()).await;
        let driver = browser_guard.0.take().expect("driver");
        Self {
            client,
            driver,
            _profile: profile,
            _turn: turn,
        }
    }

    /// Ends the session cleanly (Chromium quits); Drop then reaps the driver.
    pub async fn close(self) {
        let client = self.client.clone();
        let _ = tokio::time::timeout(Duration::from_secs(10), client.close()).await;
    }

    pub async fn goto(&self, url: &str) {
        self.client
            .goto(url)
            .await
            .unwrap_or_else(|error| panic!("open {url}: {error}"));
    }

    /// Runs `script` (a function body; `arguments[i]` are `args`) in the page.
    pub async fn js(&self, script: &str, args: Vec<Value>) -> Value {
        self.client
            .execute(script, args)
            .await
            .unwrap_or_else(|error| panic!("script failed: {error}\n{script}"))
    }

    /// Re-runs `script` until `accept` takes its result; panics with the last result and the
    /// page's camera sections after `timeout`. Returns the accepted result.
    pub async fn wait_js(
        &self,
        what: &str,
        script: &str,
        args: Vec<Value>,
        timeout: Duration,
        accept: impl Fn(&Value) -> bool,
    ) -> Value {
        let deadline = Instant::now() + timeout;
        loop {
            let value = self.js(script, args.clone()).await;
            if accept(&value) {
                return value;
            }
            if Instant::now() >= deadline {
                let page = self.js(PAGE_STATE, vec![]).await;
                panic!("{what}: not reached within {timeout:?}; last value {value}; page {page:#}");
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// The camera sections as the page shows them (see [`PAGE_STATE`]).
    pub async fn cameras(&self) -> Value {
        self.js(PAGE_STATE, vec![]).await
    }

    /// A hash of the pixels currently on camera `id`'s canvas, or null if there is no canvas.
    pub async fn canvas_hash(&self, id: &str) -> Value {
        self.js(CANVAS_HASH, vec![json!(id)]).await
    }

    /// Saves a PNG of the page when `BROWSER_SCREENSHOT_DIR` is set (for looking at by hand).
    pub async fn screenshot(&self, name: &str) {
        let Some(dir) = std::env::var_os("BROWSER_SCREENSHOT_DIR") else {
            return;
        };
        let png = self.client.screenshot().await.expect("screenshot");
        let path = Path::new(&dir).join(format!("{name}.png"));
        std::fs::write(&path, png).expect("write screenshot");
        eprintln!("screenshot: {}", path.display());
    }
}

impl Drop for Browser {
    fn drop(&mut self) {
        kill_group(&mut self.driver);
    }
}

/// Kills a half-started driver if the session cannot be created.
struct DriverGuard(Option<Child>);

impl Drop for DriverGuard {
    fn drop(&mut self) {
        if let Some(child) = self.0.as_mut() {
            kill_group(child);
        }
    }
}

/// SIGKILL to the child's process group (its pid), then reap the child itself.
fn kill_group(child: &mut Child) {
    let _ = Command::new("kill")
        .args(["-KILL", "--", &format!("-{}", child.id())])
        .stderr(Stdio::null())
        .status();
    let _ = child.kill();
    let _ = child.wait();
}

/// Polls chromedriver's `/status` until it says ready (it prints nothing we could wait on).
async fn wait_driver_ready(webdriver: &str) {
    let client = reqwest::Client::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    loop {
        if let Ok(response) = client.get(format!("{webdriver}/status")).send().await {
            if let Ok(status) = response.json::<Value>().await {
                if status["value"]["ready"] == true {
                    return;
                }
            }
        }
        assert!(
            Instant::now() < deadline,
            "chromedriver at {webdriver} not ready within 20 s"
        );
        tokio::time::sleep(Duration::from_millis(50)).await;
    }
}

async fn connect(webdriver: &str, chromium: &Path, profile: &Path) -> Client {
    let capabilities = json!({
        "browserName": "chrome",
        "pageLoadStrategy": "eager",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": [
                "--headless=new",
                "--no-sandbox",
                "--disable-gpu",
                "--disable-dev-shm-usage",
                "--disable-background-networking",
                "--disable-component-update",
                "--disable-sync",
                "--no-first-run",
                "--window-size=1280,900",
                format!("--user-data-dir={}", profile.display()),
            ],
        },
    });
    let Value::Object(capabilities) = capabilities else {
        unreachable!("json! object")
    };
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(webdriver)
        .await
        .unwrap_or_else(|error| panic!("WebDriver session via {webdriver}: {error}"))
}

/// Every `section.camera` on the page: id, data-state, state text, canvas size, stats text.
pub const PAGE_STATE: &str = r#"
return Array.from(document.querySelectorAll('section.camera')).map(section => {
  const canvas = section.querySelector('canvas.live');
  const text = selector => {
    const element = section.querySelector(selector);
    return element ? element.textContent.trim() : null;
  };
  const snapshot = section.querySelector('a.snapshot');
  return {
    id: section.dataset.camera,
    dataState: section.dataset.state,
    codec: section.dataset.codec,
    stateText: text('.state'),
    canvas: canvas ? [canvas.width, canvas.height] : null,
    canvasAttrs: canvas ? [canvas.getAttribute('width'), canvas.getAttribute('height')] : null,
    stats: text('.stats'),
    snapshot: snapshot ? snapshot.getAttribute('href') : null,
  };
});
"#;

/// Copies `source` (`width` × `height`) onto a 2D canvas `copy`, then gives the FNV-1a hash of
/// its pixels (RGBA) and its count of non-black pixels, as `hash` and `lit`: the end of every
/// pixel probe below (a macro, so that `concat!` can join it).
macro_rules! pixel_hash {
    () => {
        r#"
const copy = document.createElement('canvas');
copy.width = width;
copy.height = height;
const context = copy.getContext('2d');
context.drawImage(source, 0, 0);
const pixels = context.getImageData(0, 0, copy.width, copy.height).data;
let hash = 2166136261;
let lit = 0;
for (let i = 0; i < pixels.length; i += 4) {
  hash = Math.imul(hash ^ pixels[i] ^ (pixels[i + 1] << 8) ^ (pixels[i + 2] << 16), 16777619) >>> 0;
  if (pixels[i] | pixels[i + 1] | pixels[i + 2]) lit++;
}
"#
    };
}

/// FNV-1a over a sample of the canvas pixels. The canvas is copied onto a 2D canvas first, so
/// this works whatever context the page draws with (2d, bitmaprenderer).
pub const CANVAS_HASH: &str = concat!(
    r#"
const section = document.querySelector(`section.camera[data-camera="${arguments[0]}"]`);
const canvas = section && section.querySelector('canvas.live');
if (!canvas || canvas.width === 0 || canvas.height === 0) return null;
const [source, width, height] = [canvas, canvas.width, canvas.height];
"#,
    pixel_hash!(),
    r#"return { hash, lit };
"#
);

/// Adds `<img id="mjpeg-probe" src=arguments[0]>` to the page on the first call; then, once
/// it shows a picture, an FNV-1a hash of its current pixels (like [`CANVAS_HASH`]), else null.
/// Same-origin, so reading its pixels is allowed: what a person sees in an `<img>` stream.
pub const IMG_HASH: &str = concat!(
    r#"
let img = document.getElementById('mjpeg-probe');
if (!img) {
  img = document.createElement('img');
  img.id = 'mjpeg-probe';
  img.src = arguments[0];
  document.body.appendChild(img);
  return null;
}
if (!img.naturalWidth) return null;
const [source, width, height] = [img, img.naturalWidth, img.naturalHeight];
"#,
    pixel_hash!(),
    r#"return { hash, lit, width: copy.width };
"#
);
