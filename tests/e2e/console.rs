//! The operator console, driven in a real browser: Debian's `chromium`
//! through `chromedriver`, against a real daemon on a loopback port.
//!
//! Without the two binaries these tests are skipped, each saying so and
//! naming the command that installs them; with `REDRESS_REQUIRE_BROWSER=1`
//! (as `.ci/run` sets) they fail instead. Each screen is photographed into
//! `target/console-screenshots/` for a reviewer to look at.

use std::io::Write as _;
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};
use std::time::{Duration, Instant};

use fantoccini::{Client, ClientBuilder, Locator};
use hyper_util::client::legacy::connect::HttpConnector;

use crate::support::{Daemon, repo};

const TOKENS: &str = "[auth]\ntokens = [\"user\"]\nadmin_tokens = [\"admin\"]\n";
/// How long the page may take to show what a step waits for.
const PATIENCE: Duration = Duration::from_secs(30);

/// A `chromedriver` process on a free port; killed when dropped.
struct Driver {
    child: Child,
    url: String,
}

impl Drop for Driver {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn find(binary: &str) -> Option<PathBuf> {
    std::env::var_os("PATH")?
        .to_str()?
        .split(':')
        .map(|dir| PathBuf::from(dir).join(binary))
        .find(|path| path.is_file())
}

/// The browser, or `None` (saying which test is skipped) when this machine
/// has none.
fn driver(test: &str) -> Option<(Driver, PathBuf)> {
    let (Some(chromedriver), Some(chromium)) = (find("chromedriver"), find("chromium")) else {
        let required = std::env::var_os("REDRESS_REQUIRE_BROWSER").is_some_and(|v| v == "1");
        let why = "Debian's chromium and chromium-driver are not installed (apt-get install -y chromium chromium-driver)";
        assert!(!required, "{test}: REDRESS_REQUIRE_BROWSER=1 but {why}");
        // Straight to stderr, past the test harness's capture, so the skip
        // shows in the README's test command.
        let _ = writeln!(std::io::stderr(), "skipped {test}: {why}");
        return None;
    };
    let port = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap()
        .port();
    let child = Command::new(chromedriver)
        .arg(format!("--port={port}"))
        .stdout(Stdio::null())
        .stderr(Stdio::null())
        .spawn()
        .unwrap();
    let driver = Driver {
        child,
        url: format!("http://127.0.0.1:{port}"),
    };
    let started = Instant::now();
    while std::net::TcpStream::connect(("127.0.0.1", port)).is_err() {
        assert!(started.elapsed() < PATIENCE, "chromedriver did not start");
        std::thread::sleep(Duration::from_millis(50));
    }
    Some((driver, chromium))
}

async fn browser(driver: &Driver, chromium: &std::path::Path) -> Client {
    let capabilities = serde_json::json!({
        "browserName": "chrome",
        "goog:chromeOptions": {
            "binary": chromium,
            "args": ["--headless=new", "--no-sandbox", "--disable-gpu", "--disable-dev-shm-usage", "--window-size=1280,800"],
        },
    });
    let serde_json::Value::Object(capabilities) = capabilities else {
        unreachable!()
    };
    ClientBuilder::new(HttpConnector::new())
        .capabilities(capabilities)
        .connect(&driver.url)
        .await
        .expect("a chromium session")
}

/// Waits until the element `css` shows text containing `wanted`; returns
/// its text.
async fn wait_for_text(client: &Client, css: &str, wanted: &str) -> String {
    let started = Instant::now();
    let mut seen = String::new();
    while started.elapsed() < PATIENCE {
        if let Ok(element) = client.find(Locator::Css(css)).await
            && let Ok(text) = element.text().await
        {
            if text.contains(wanted) {
                return text;
            }
            seen = text;
        }
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
    let page = client.source().await.unwrap_or_default();
    panic!("`{css}` never showed `{wanted}`; it showed `{seen}`; the page:\n{page}");
}

async fn wait_for(client: &Client, css: &str) -> fantoccini::elements::Element {
    client
        .wait()
        .at_most(PATIENCE)
        .for_element(Locator::Css(css))
        .await
        .unwrap_or_else(|error| panic!("`{css}` never appeared: {error}"))
}

async fn click(client: &Client, locator: Locator<'_>) {
    client.find(locator).await.unwrap().click().await.unwrap();
}

/// Photographs the window with `css` scrolled into view.
async fn screenshot(client: &Client, name: &str, css: &str) {
    let _ = client
        .execute(
            "const e = document.querySelector(arguments[0]); if (e) e.scrollIntoView({block: 'start'});",
            vec![css.into()],
        )
        .await;
    let dir = repo().join("target/console-screenshots");
    std::fs::create_dir_all(&dir).unwrap();
    let png = client.screenshot().await.unwrap();
    std::fs::write(dir.join(format!("{name}.png")), png).unwrap();
}

/// Opens `path` and signs in with `token` when the console asks.
async fn open_signed_in(client: &Client, base: &str, path: &str, token: &str) {
    client.goto(&format!("{base}{path}")).await.unwrap();
    wait_for_text(client, "#login-message", "needs a token").await;
    let field = wait_for(client, "#token").await;
    // The sign-in form takes the keyboard's focus when it opens.
    let focused = client
        .execute("return document.activeElement.id", vec![])
        .await
        .unwrap();
    assert_eq!(focused, "token");
    field.send_keys(token).await.unwrap();
    click(client, Locator::Css("#login-form button")).await;
}

/// Nothing on the page is wider than the window.
async fn fits_the_window(client: &Client) -> bool {
    client
        .execute(
            "return document.documentElement.scrollWidth <= window.innerWidth",
            vec![],
        )
        .await
        .unwrap()
        == serde_json::Value::Bool(true)
}

fn event_now(id: &str, customer: &str) -> String {
    let now = chrono::Utc::now().to_rfc3339_opts(chrono::SecondsFormat::Secs, true);
    let mut event: serde_json::Value = serde_json::from_str(
        &std::fs::read_to_string(repo().join("docs/examples/defective-headphones.json")).unwrap(),
    )
    .unwrap();
    event["id"] = id.into();
    event["received_at"] = now.into();
    event["customer"]["id"] = customer.into();
    event.to_string()
}

#[tokio::test(flavor = "multi_thread")]
async fn signing_in_then_deciding_an_event_shows_its_route() {
    let Some((driver, chromium)) = driver("signing_in_then_deciding_an_event_shows_its_route")
    else {
        return;
    };
    let daemon = Daemon::start(TOKENS).with_token("user");
    let example =
        std::fs::read_to_string(repo().join("docs/examples/defective-headphones.json")).unwrap();
    let (status, simulated) = daemon.post("/v1/simulate", &format!("{{\"event\": {example}}}"));
    assert_eq!(status, 200, "{simulated}");
    let queue = simulated["decisions"][0]["route"]["queue"]
        .as_str()
        .unwrap()
        .to_string();
    let client = browser(&driver, &chromium).await;

    open_signed_in(&client, &daemon.base, "/console/try", "user").await;
    wait_for(&client, "#event").await;
    click(&client, Locator::Css("#decide")).await;
    let route = wait_for_text(&client, "#route", &queue).await;
    assert!(route.contains("Route"), "{route}");
    let why = wait_for_text(&client, "#explanation", "def-2026-0042").await;
    assert!(why.contains("route"), "{why}");
    screenshot(&client, "try-an-event", "#outcome").await;

    // The token stays for the tab: the rule set screen opens signed in and
    // shows the version the API says is serving.
    let (_, ruleset) = daemon.get("/v1/ruleset");
    click(&client, Locator::LinkText("Rule set")).await;
    wait_for_text(
        &client,
        "#serving-version",
        ruleset["version"].as_str().unwrap(),
    )
    .await;
    wait_for_text(&client, "#plugins", "sha256:").await;
    screenshot(&client, "rule-set", "main").await;

    // An edit saved with an error is refused; the screen says why, where.
    std::fs::write(
        daemon.path("rules/15-broken.toml"),
        "[[route]]\nname = \"oops\"\nwhen = 'category == '\nqueue = \"q\"\n",
    )
    .unwrap();
    let started = Instant::now();
    while daemon.get("/v1/ruleset").1["last_reload"]["outcome"] != "failed" {
        assert!(
            started.elapsed() < PATIENCE,
            "the broken file was not reloaded"
        );
        std::thread::sleep(Duration::from_millis(50));
    }
    client.refresh().await.unwrap();
    wait_for_text(&client, "#last-reload", "failed").await;
    let diagnostic = wait_for_text(&client, ".diagnostic.error", "15-broken.toml:3:").await;
    assert!(diagnostic.contains("error"), "{diagnostic}");
    // The diagnostic quotes its source line, as `redress check` does.
    wait_for_text(
        &client,
        ".diagnostic.error pre.source",
        "when = 'category == '",
    )
    .await;
    screenshot(&client, "rule-set-refused-edit", "#last-reload").await;

    // The keyboard reaches the screens: the first Tab lands on the skip
    // link, the next ones on the top bar's links.
    client
        .goto(&format!("{}/console/ruleset", daemon.base))
        .await
        .unwrap();
    wait_for(&client, "#serving-version").await;
    let tab = fantoccini::key::Key::Tab.to_string();
    let focused = async || {
        client
            .active_element()
            .await
            .unwrap()
            .send_keys(&tab)
            .await
            .unwrap();
        client
            .execute("return document.activeElement.textContent", vec![])
            .await
            .unwrap()
    };
    assert_eq!(focused().await, "Skip to content");
    let second = focused().await;
    assert_eq!(second, "Rule set");

    // At a phone's width the screens still fit.
    client.set_window_size(390, 844).await.unwrap();
    client
        .goto(&format!("{}/console/try", daemon.base))
        .await
        .unwrap();
    wait_for(&client, "#event").await;
    assert!(
        fits_the_window(&client).await,
        "the try screen is wider than a phone"
    );
    screenshot(&client, "try-an-event-phone", "main").await;
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_draft_with_an_error_shows_it_at_its_line_and_a_good_one_saves_and_reloads() {
    let test = "a_draft_with_an_error_shows_it_at_its_line_and_a_good_one_saves_and_reloads";
    let Some((driver, chromium)) = driver(test) else {
        return;
    };
    let daemon = Daemon::start(TOKENS).with_token("admin");
    let (status, _) = daemon.post("/v1/complaints", &event_now("draft-1", "cust-draft"));
    assert_eq!(status, 200);
    let file = "50-compensation.toml";
    let original = std::fs::read_to_string(daemon.path(&format!("rules/{file}"))).unwrap();
    let client = browser(&driver, &chromium).await;

    // A user token may check a draft but not see its effect on past
    // complaints: that is an admin's, as `/v1/diff` is.
    open_signed_in(
        &client,
        &daemon.base,
        &format!("/console/draft?file={file}"),
        "user",
    )
    .await;
    let text = wait_for(&client, "#text").await;
    // Typed at the end of the text, after its last newline.
    let broken_line = format!("{original}\nbroken = = 1")
        .lines()
        .position(|line| line == "broken = = 1")
        .unwrap()
        + 1;
    text.send_keys("\nbroken = = 1").await.unwrap();
    // Checked as it is typed: no button pressed.
    wait_for_text(&client, "#check-summary", "error").await;
    let marked = wait_for(&client, "#draft-lines li.error").await;
    assert_eq!(
        marked.attr("id").await.unwrap().as_deref(),
        Some(format!("line-{broken_line}").as_str())
    );
    let diagnostic = wait_for_text(&client, "#check .diagnostic.error", file).await;
    assert!(
        diagnostic.contains(&format!(":{broken_line}:")),
        "the diagnostic names line {broken_line}: {diagnostic}"
    );
    screenshot(&client, "draft-with-an-error", "#check").await;
    click(&client, Locator::Css("#effect-button")).await;
    wait_for_text(&client, "#effect", "admin token").await;

    // Signed in as an admin, a good draft shows its effect and saves.
    client
        .execute("sessionStorage.clear()", vec![])
        .await
        .unwrap();
    open_signed_in(
        &client,
        &daemon.base,
        &format!("/console/draft?file={file}"),
        "admin",
    )
    .await;
    let text = wait_for(&client, "#text").await;
    text.send_keys("\n# Reviewed in the console.")
        .await
        .unwrap();
    wait_for_text(&client, "#check-summary", "No errors").await;
    click(&client, Locator::Css("#effect-button")).await;
    wait_for_text(&client, "#effect-summary", "of 1 complaints").await;
    let before = daemon.ruleset_version();
    click(&client, Locator::Css("#save-button")).await;
    wait_for_text(&client, "#save-outcome", "loaded").await;
    screenshot(&client, "draft-saved", "#saved").await;
    let saved = std::fs::read_to_string(daemon.path(&format!("rules/{file}"))).unwrap();
    assert!(saved.ends_with("# Reviewed in the console."), "{saved}");
    assert_ne!(daemon.ruleset_version(), before);

    // A new rule file starts empty and is written when saved.
    let new_file = wait_for(&client, "#new-file").await;
    new_file.send_keys("80-console.toml").await.unwrap();
    click(&client, Locator::Css("#new-file-form button")).await;
    wait_for_text(&client, "#file", "80-console.toml (new)").await;
    let text = wait_for(&client, "#text").await;
    text.send_keys(
        "[[route]]\nname = \"from-the-console\"\nwhen = 'category == \"x\"'\nqueue = \"care\"\n",
    )
    .await
    .unwrap();
    wait_for_text(&client, "#check-summary", "No errors").await;
    click(&client, Locator::Css("#save-button")).await;
    wait_for_text(&client, "#save-outcome", "loaded").await;
    assert!(
        std::fs::read_to_string(daemon.path("rules/80-console.toml"))
            .unwrap()
            .contains("from-the-console")
    );
    client.close().await.unwrap();
}

#[tokio::test(flavor = "multi_thread")]
async fn a_case_found_by_its_customer_shows_its_timers_and_the_report_draws() {
    let test = "a_case_found_by_its_customer_shows_its_timers_and_the_report_draws";
    let Some((driver, chromium)) = driver(test) else {
        return;
    };
    let daemon = Daemon::start(TOKENS).with_token("user");
    for (id, customer) in [
        ("case-1", "cust-a"),
        ("case-2", "cust-a"),
        ("case-3", "cust-b"),
    ] {
        let (status, body) = daemon.post("/v1/complaints", &event_now(id, customer));
        assert_eq!(status, 200, "{body}");
    }
    let client = browser(&driver, &chromium).await;

    open_signed_in(&client, &daemon.base, "/console/cases", "user").await;
    let search = wait_for(&client, "#q").await;
    search.send_keys("cust-a").await.unwrap();
    click(&client, Locator::Css("#case-search button")).await;
    let listed = wait_for_text(&client, "#customer-cases", "case-1").await;
    assert!(
        listed.contains("case-2") && !listed.contains("case-3"),
        "{listed}"
    );
    click(&client, Locator::LinkText("case-2")).await;
    let timers = wait_for_text(&client, "#timers", "first_response").await;
    assert!(timers.contains("pending"), "{timers}");
    wait_for_text(&client, "#timeline", "opened").await;
    wait_for_text(&client, "#timeline", "routed to").await;
    screenshot(&client, "case", "#timeline").await;

    let month = chrono::Utc::now().format("%Y-%m").to_string();
    client
        .goto(&format!("{}/console/report?month={month}", daemon.base))
        .await
        .unwrap();
    wait_for(&client, "#heat-map").await;
    screenshot(&client, "report", "main").await;
    // A cell of the heat map opens its control chart, with the line.
    click(&client, Locator::Css("#heat-map a[aria-label$=': 3']")).await;
    wait_for(&client, "#control-chart").await;
    wait_for_text(&client, "main", "quality-by-product-line limit 5").await;
    screenshot(&client, "report-control-chart", "#control-chart").await;

    client
        .goto(&format!("{}/console/live", daemon.base))
        .await
        .unwrap();
    wait_for_text(&client, "#decisions-per-second", "3 in all").await;
    // It refreshes by itself: a decision made now shows without a reload.
    let (status, _) = daemon.post("/v1/complaints", &event_now("case-4", "cust-c"));
    assert_eq!(status, 200);
    wait_for_text(&client, "#decisions-per-second", "4 in all").await;
    screenshot(&client, "live", "main").await;

    // At a phone's width every screen still fits (the try screen is
    // checked with the sign-in).
    client.set_window_size(390, 844).await.unwrap();
    for (path, shown) in [
        ("/console/ruleset".to_string(), "#serving-version"),
        ("/console/draft?file=10-routing.toml".to_string(), "#text"),
        ("/console/cases?q=cust-a".to_string(), "#customer-cases"),
        ("/console/cases/case-2".to_string(), "#timeline"),
        (format!("/console/report?month={month}"), "#heat-map"),
        (
            format!(
                "/console/report?month={month}&category=product_quality&product_line=headphones&tier=ordinary"
            ),
            "#control-chart",
        ),
        ("/console/live".to_string(), "#decisions-per-second"),
    ] {
        client
            .goto(&format!("{}{path}", daemon.base))
            .await
            .unwrap();
        wait_for(&client, shown).await;
        assert!(
            fits_the_window(&client).await,
            "{path} is wider than a phone"
        );
    }
    screenshot(&client, "live-phone", "main").await;
    client.close().await.unwrap();
}

/// Without a browser too: the pages are open, their content is not.
#[test]
fn console_pages_are_open_and_their_fragments_need_a_token() {
    let daemon = Daemon::start(TOKENS);
    for page in [
        "/console",
        "/console/cases/miller-001",
        "/console/assets/console.js",
    ] {
        let (status, _) = daemon.request("GET", page, None, None);
        assert_eq!(status, 200, "{page}");
    }
    let (status, _) = daemon.request("GET", "/console/f/ruleset", None, None);
    assert_eq!(status, 401);
    let (status, body) = daemon.request("GET", "/console/f/ruleset", None, Some("user"));
    assert_eq!(status, 200);
    assert!(body.as_str().unwrap().contains("serving-version"), "{body}");
    // Sent without the console's header, as a form another site makes the
    // browser post would be: refused even with an admin token, and on a
    // daemon without tokens.
    let draft = Some("file=10-routing.toml&text=x");
    let (status, body) = daemon.request("POST", "/console/f/draft/save", draft, Some("admin"));
    assert_eq!(status, 403, "{body}");
    assert!(
        body["error"]["message"]
            .as_str()
            .unwrap()
            .contains("x-redress-console"),
        "{body}"
    );
    let open = Daemon::start("");
    let (status, _) = open.request("POST", "/console/f/draft/save", draft, None);
    assert_eq!(status, 403);
    assert_eq!(
        std::fs::read_to_string(open.path("rules/10-routing.toml")).unwrap(),
        std::fs::read_to_string(repo().join("rules/10-routing.toml")).unwrap(),
        "nothing was written"
    );
    let (status, _) = daemon.request(
        "POST",
        "/console/f/ruleset/accept",
        Some("version=x"),
        Some("user"),
    );
    assert_eq!(status, 403);

    let off = Daemon::start(&format!("{TOKENS}\n[console]\nenabled = false\n"));
    let (status, _) = off.request("GET", "/console", None, None);
    assert_eq!(status, 404);
}

#[test]
fn a_failed_reload_shows_each_diagnostic_with_its_source_line() {
    let daemon = Daemon::start(TOKENS);
    std::fs::write(
        daemon.path("rules/99-typo.toml"),
        "[[route]]\nname = \"typo\"\nwhen = 'amout > 3'\nqueue = \"care\"\n",
    )
    .unwrap();
    let (status, body) = daemon.request("POST", "/v1/reload", None, Some("admin"));
    assert_eq!(status, 422, "{body}");
    assert_eq!(body["error"]["details"]["outcome"], "failed", "{body}");
    let (status, body) = daemon.request("GET", "/console/f/ruleset", None, Some("user"));
    assert_eq!(status, 200);
    let page = body.as_str().unwrap();
    let item = page
        .split("<li class=\"diagnostic error\"")
        .nth(1)
        .unwrap_or_else(|| panic!("no diagnostic listed: {page}"));
    let item = &item[..item.find("</li>").unwrap()];
    assert!(item.contains("99-typo.toml"), "{item}");
    assert!(
        item.contains("<pre class=\"source\">") && item.contains("when = 'amout &gt; 3'"),
        "the diagnostic quotes its line: {item}"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn a_saved_draft_the_gate_holds_is_accepted_on_the_rule_set_screen() {
    let test = "a_saved_draft_the_gate_holds_is_accepted_on_the_rule_set_screen";
    let Some((driver, chromium)) = driver(test) else {
        return;
    };
    let daemon = Daemon::start(&format!(
        "{TOKENS}[reload.gate]\nreplay = 100\nmax_route_changes = 0\n"
    ))
    .with_token("admin");
    for i in 0..3 {
        let body =
            format!(r#"{{"id": "g-{i}", "text": "charged twice", "category": "price_billing"}}"#);
        let (status, answer) = daemon.post("/v1/complaints", &body);
        assert_eq!(status, 200, "{answer}");
        assert_eq!(answer["route"]["queue"], "billing", "{answer}");
    }
    let serving = daemon.ruleset_version();
    let client = browser(&driver, &chromium).await;

    open_signed_in(
        &client,
        &daemon.base,
        "/console/draft?file=10-routing.toml",
        "admin",
    )
    .await;
    wait_for(&client, "#text").await;
    client
        .execute(
            "const text = document.querySelector('#text');
             text.value = text.value.replace('queue = \"billing\"', 'queue = \"billing-desk\"');
             text.dispatchEvent(new Event('input'));",
            vec![],
        )
        .await
        .unwrap();
    wait_for_text(&client, "#check-summary", "No errors").await;
    click(&client, Locator::Css("#save-button")).await;
    wait_for_text(&client, "#save-outcome", "held").await;
    assert_eq!(daemon.ruleset_version(), serving, "the gate holds it back");
    screenshot(&client, "draft-held", "#saved").await;

    click(&client, Locator::Css("#saved a")).await;
    let held = wait_for_text(&client, "#held", "route").await;
    assert!(held.contains("Accept"), "{held}");
    screenshot(&client, "rule-set-held", "#held").await;
    click(&client, Locator::Css("#held button")).await;
    wait_for_text(&client, "#accepted", "serves now").await;
    assert_ne!(daemon.ruleset_version(), serving);
    let (_, decided) = daemon.post(
        "/v1/complaints",
        r#"{"id": "g-after", "text": "charged twice", "category": "price_billing"}"#,
    );
    assert_eq!(decided["route"]["queue"], "billing-desk", "{decided}");
    client.close().await.unwrap();
}
