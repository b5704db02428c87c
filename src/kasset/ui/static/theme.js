// Sets the colour theme before the page paints (a separate file: the CSP allows no
// inline script). The choice is "auto" (follow prefers-color-scheme), "light" or "dark",
// kept in localStorage; kasset.js wires the header's toggle.
(function () {
  const root = document.documentElement;
  const query = window.matchMedia("(prefers-color-scheme: dark)");
  function choice() {
    try { return localStorage.getItem("kasset-theme") || "auto"; } catch (e) { return "auto"; }
  }
  function apply() {
    const picked = choice();
    root.dataset.theme = picked === "auto" ? (query.matches ? "dark" : "light") : picked;
    root.dataset.themeChoice = picked;
  }
  window.kassetTheme = {
    choice: choice,
    set: function (value) {
      try { localStorage.setItem("kasset-theme", value); } catch (e) { /* private mode */ }
      apply();
    },
  };
  query.addEventListener("change", apply);
  apply();
})();
