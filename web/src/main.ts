// Boot: restore the session, show the navigation bar, start routing.

import './style.css';
import * as api from './api';
import { announce } from './dom';
import { installGlobalShortcuts, renderNav } from './nav';
import { navigate, startRouter } from './router';
import { resolveRoute } from './routes';
import { onUserChange, restoreSession, session, setUser } from './session';

api.setOnUnauthorized(() => {
  if (session.user) announce('Your session has ended. Please log in again.', 'error');
  setUser(null);
  if (!location.hash.startsWith('#/login')) navigate('#/login?next=' + encodeURIComponent(location.hash));
});
onUserChange(renderNav);
installGlobalShortcuts();

async function start(): Promise<void> {
  await restoreSession();
  await startRouter(resolveRoute, renderNav);
}

void start();
