// The login page: the token comes from the link's fragment (never sent to the server as part of
// a URL) or the form, and is exchanged once for a session cookie.
const form = document.getElementById('login-form');
const input = document.getElementById('token');
const error = document.getElementById('login-error');

async function login(token) {
  error.hidden = true;
  const res = await fetch('/api/login', { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify({ token }), credentials: 'same-origin' });
  if (res.ok) {
    location.replace('/nodes');
    return;
  }
  const body = await res.json().catch(() => ({ error: res.statusText }));
  error.textContent = body.error || `login failed (${res.status})`;
  error.hidden = false;
}

form.addEventListener('submit', (e) => {
  e.preventDefault();
  void login(input.value.trim());
});

const fromLink = decodeURIComponent(location.hash.slice(1));
if (fromLink) {
  // out of the address bar and history at once
  history.replaceState(null, '', '/login');
  void login(fromLink);
}
