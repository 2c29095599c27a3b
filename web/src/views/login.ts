import * as api from '../api';
import { h } from '../dom';
import { navigate, type RouteContext } from '../router';
import { setUser } from '../session';

export function renderLogin(main: HTMLElement, { params }: RouteContext): void {
  const err = h('p', { class: 'error', role: 'alert', id: 'login-error' });
  const user = h('input', { id: 'username', name: 'username', autocomplete: 'username', required: true, autofocus: true });
  const pass = h('input', { id: 'password', name: 'password', type: 'password', autocomplete: 'current-password', required: true });
  const btn = h('button', { class: 'btn primary', type: 'submit' }, 'Log in');
  const form = h(
    'form',
    { class: 'card login', 'aria-labelledby': 'login-title', 'aria-describedby': 'login-error' },
    h('h1', { id: 'login-title' }, 'Log in to radraft'),
    h('label', { for: 'username' }, 'Username'),
    user,
    h('label', { for: 'password' }, 'Password'),
    pass,
    btn,
    err,
  );
  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    err.textContent = '';
    btn.disabled = true;
    try {
      const me = await api.login(user.value.trim(), pass.value);
      setUser(me);
      const next = params.get('next');
      navigate(next && next.startsWith('#/') && !next.startsWith('#/login') ? next : me.role === 'radiologist' ? '#/' : '#/qa');
    } catch (e) {
      const ae = e as api.ApiError;
      err.textContent =
        ae.status === 401 ? 'Wrong username or password.' : ae.status === 429 ? 'Too many attempts. Wait a minute and try again.' : ae.message || 'Login failed.';
      pass.select();
    } finally {
      btn.disabled = false;
    }
  });
  main.appendChild(h('section', { class: 'page narrow' }, form));
  setTimeout(() => user.focus(), 0);
}
