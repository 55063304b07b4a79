// Sign-in with a bearer token. The token is checked with GET /v1/me before it
// is kept (sessionStorage: this tab only, gone when the tab closes).
import { api, session } from './api.js';
import { h, showError, nextId } from './ui.js';
import { signedIn } from './app.js';

const WELL_FORMED = /^a51_[A-Za-z0-9_-]{43}$/;

export async function render(ctx) {
  ctx.title('Connexion');
  const errId = nextId('err');
  const input = h('input', {
    type: 'password', id: 'token', name: 'token', autocomplete: 'off', spellcheck: 'false',
    required: true, 'aria-describedby': 'token-hint', autocapitalize: 'off',
  });
  const error = h('p', { class: 'field-error', id: errId, hidden: true });
  const button = h('button', { type: 'submit', text: 'Se connecter' });
  const form = h('form', { class: 'signin', novalidate: true },
    h('div', { class: 'field' },
      h('label', { for: 'token', text: 'Jeton d’accès' }),
      input,
      h('span', { class: 'hint', id: 'token-hint', text: 'Il commence par « a51_ » et vous a été remis par votre ARS ou par l’administrateur national. Il reste dans cet onglet et disparaît à sa fermeture.' }),
      error),
    h('p', null, button));

  function fault(message) {
    error.textContent = message;
    error.hidden = false;
    input.setAttribute('aria-invalid', 'true');
    input.setAttribute('aria-describedby', `token-hint ${errId}`);
    input.focus();
  }

  form.addEventListener('submit', async (e) => {
    e.preventDefault();
    const token = input.value.trim();
    error.hidden = true;
    input.removeAttribute('aria-invalid');
    if (!token) return fault('Saisissez votre jeton.');
    if (!WELL_FORMED.test(token)) return fault('Ce n’est pas un jeton a51 : « a51_ » suivi de 43 caractères.');
    button.disabled = true;
    try {
      // The token goes in this request only; it is kept once a51 has accepted it.
      const me = await api('/v1/me', { headers: { Authorization: 'Bearer ' + token } });
      session.set(token);
      await signedIn(me);
    } catch (err) {
      if (err.status === 401) fault('a51 refuse ce jeton : il est inconnu, révoqué ou expiré.');
      else showError(err, 'Connexion');
    } finally {
      button.disabled = false;
    }
  });

  ctx.show(
    h('h1', { text: 'Connexion' }),
    h('p', { text: 'Tableaux de bord, patientèle, envois de données et calculs des expérimentations article 51 (PEPS, IPEP, EDS).' }),
    form);
}
