/*
 * Passkey buttons on the sign-in, second-factor and "Add a passkey" pages. Served from our own
 * origin as /assets/passkey.js after /assets/simplewebauthn-browser.js (CSP `script-src 'self'`;
 * no inline script). Each passkey form carries its WebAuthn options in `data-options`; the
 * browser's answer goes back as JSON in the form's hidden `credential` field, with its CSRF token.
 *
 * Without JavaScript or WebAuthn nothing here runs: the buttons keep their `hidden` attribute and
 * the pages work with their other methods (the explanation marked data-passkey-unsupported stays).
 */
(() => {
  const lib = window.SimpleWebAuthnBrowser;
  if (!lib || !window.PublicKeyCredential) return;

  /** What a person reads when the browser's passkey dialog does not end in a passkey. */
  function messageFor(err, registering) {
    const name = err?.name;
    if (name === 'NotAllowedError' || name === 'AbortError')
      return 'The passkey request was cancelled or timed out. Try again.';
    if (registering && name === 'InvalidStateError') return 'This device already has a passkey for your account.';
    if (name === 'SecurityError') return 'Passkeys cannot be used at this address.';
    return registering
      ? 'Your browser could not create a passkey. Try again.'
      : 'Your passkey could not be used. Try again.';
  }

  function setup(form) {
    const kind = form.getAttribute('data-passkey');
    const optionsJSON = JSON.parse(form.getAttribute('data-options'));
    const button = form.querySelector('[data-passkey-start]');
    const error = form.querySelector('[data-passkey-error]');
    const unsupported = form.querySelector('[data-passkey-unsupported]');
    const registering = kind === 'register';
    let busy = false;

    function send(response) {
      form.querySelector('input[name="credential"]').value = JSON.stringify(response);
      // "Stay signed in" sits in the password form when there is one: a passkey sign-in takes the same choice.
      const stay = document.querySelector('input[name="remember"]');
      if (kind === 'sign-in' && stay && !form.contains(stay) && stay.checked) {
        const copy = document.createElement('input');
        copy.type = 'hidden';
        copy.name = 'remember';
        copy.value = stay.value;
        form.appendChild(copy);
      }
      form.submit();
    }
    function fail(err) {
      busy = false;
      if (button) button.disabled = false;
      if (!error) return;
      error.textContent = messageFor(err, registering);
      error.hidden = false;
    }

    if (unsupported) unsupported.hidden = true;
    if (button) {
      button.hidden = false;
      button.addEventListener('click', () => {
        if (busy) return;
        busy = true;
        button.disabled = true;
        if (error) error.hidden = true;
        const ceremony = registering
          ? lib.startRegistration({ optionsJSON })
          : lib.startAuthentication({ optionsJSON });
        ceremony.then(send, fail);
      });
    }

    // Conditional UI: the browser offers this site's passkeys in the email field's autofill
    // (autocomplete="username webauthn"). A click on the button above cancels this request.
    if (kind === 'sign-in' && lib.browserSupportsWebAuthnAutofill) {
      lib.browserSupportsWebAuthnAutofill().then((supported) => {
        if (!supported) return;
        lib.startAuthentication({ optionsJSON, useBrowserAutofill: true }).then(
          (response) => {
            busy = true;
            send(response);
          },
          () => undefined,
        );
      });
    }
  }

  for (const form of document.querySelectorAll('form[data-passkey]')) setup(form);
})();
