// Placeholder: the admin page's script (replaced by the page's real module).
const view = document.getElementById("view");
fetch("/admin/v1/session", { credentials: "same-origin" }).then((r) => {
  view.textContent = r.ok ? "Signed in." : "Sign in to use this page.";
});
