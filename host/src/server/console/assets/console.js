// The Redress console's script. Pages hold no data: this loads each
// screen's content from its fragment (server-rendered HTML), sending the
// operator's token as a bearer token, and wires forms, checks as you type
// and refreshing areas inside what it loaded.
"use strict";
(function () {
  const KEY = "redress-token";
  const token = () => sessionStorage.getItem(KEY) || "";
  const main = document.getElementById("main");
  const login = document.getElementById("login");
  const signOut = document.getElementById("sign-out");

  function showLogin(message) {
    login.hidden = false;
    document.getElementById("login-message").textContent = message;
    document.getElementById("token").focus();
  }

  function notice(target, text) {
    const p = document.createElement("p");
    p.className = "problem";
    p.setAttribute("role", "alert");
    p.textContent = text;
    target.replaceChildren(p);
  }

  // Loads `url` into `target`: a GET, or a POST of `form`'s fields.
  async function load(target, url, form) {
    // Marks the request as the console's own (a form posted by another
    // site cannot carry a header).
    const headers = { "X-Redress-Console": "1" };
    if (token()) headers["Authorization"] = "Bearer " + token();
    const options = { headers };
    if (form) {
      options.method = "POST";
      options.body = new URLSearchParams(new FormData(form));
      headers["Content-Type"] = "application/x-www-form-urlencoded";
    }
    target.setAttribute("aria-busy", "true");
    let response;
    try {
      response = await fetch(url, options);
    } catch (error) {
      target.removeAttribute("aria-busy");
      notice(target, "The daemon did not answer: " + error.message);
      return;
    }
    target.removeAttribute("aria-busy");
    if (response.status === 401) {
      showLogin(token() ? "That token was not accepted." : "This daemon needs a token.");
      notice(target, "Sign in to see this.");
      return;
    }
    if (response.status === 403) {
      notice(target, "This needs an admin token: sign in with one of the daemon's admin_tokens.");
      showLogin("This needs an admin token.");
      return;
    }
    const type = response.headers.get("Content-Type") || "";
    const text = await response.text();
    if (!type.startsWith("text/html")) {
      notice(target, response.status + ": " + text);
      return;
    }
    // The fragment is the daemon's own HTML, every value escaped when it
    // was rendered.
    target.innerHTML = text;
    wire(target);
  }

  const timers = new WeakMap();

  function wire(root) {
    root.querySelectorAll("form[data-post]").forEach((form) => {
      form.addEventListener("submit", (event) => {
        event.preventDefault();
        const by = event.submitter && event.submitter.dataset.post ? event.submitter : form;
        const target = document.querySelector(by.dataset.target || form.dataset.target);
        load(target, by.dataset.post, form);
      });
    });
    // Checked as it is typed, once typing pauses.
    root.querySelectorAll("[data-check]").forEach((input) => {
      input.addEventListener("input", () => {
        clearTimeout(timers.get(input));
        timers.set(input, setTimeout(() => {
          load(document.querySelector(input.dataset.target), input.dataset.check, input.form);
        }, 400));
      });
    });
    root.querySelectorAll("[data-refresh]").forEach((area) => {
      const every = Number(area.dataset.refresh) || 2000;
      const tick = setInterval(() => {
        if (!document.body.contains(area)) {
          clearInterval(tick);
          return;
        }
        load(area, area.dataset.source);
      }, every);
    });
    // A select that changes which page is shown (the draft's file).
    root.querySelectorAll("select[data-navigate]").forEach((select) => {
      select.addEventListener("change", () => {
        const url = new URL(select.dataset.navigate, location.href);
        url.searchParams.set(select.name, select.value);
        location.assign(url);
      });
    });
  }

  document.getElementById("login-form").addEventListener("submit", (event) => {
    event.preventDefault();
    sessionStorage.setItem(KEY, document.getElementById("token").value.trim());
    login.hidden = true;
    signOut.hidden = false;
    load(main, main.dataset.fragment);
  });
  signOut.addEventListener("click", () => {
    sessionStorage.removeItem(KEY);
    signOut.hidden = true;
    showLogin("Signed out.");
  });
  signOut.hidden = !token();
  load(main, main.dataset.fragment);
})();
