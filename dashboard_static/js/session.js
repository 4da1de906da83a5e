// Who is logged in: the profile from GET /users/profile (its "role" decides the admin pages).
import * as api from './api.js';

export const session = { user: null, config: {}, branding: null };

export async function loadProfile() {
  session.user = await api.get('/users/profile');
  return session.user;
}

export function isAdmin() {
  return session.user?.role === 'admin';
}

export function forget() {
  session.user = null;
}
