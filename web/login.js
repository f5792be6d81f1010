// The login page: shows the error after a wrong password and keeps where to go next. A file, not an inline script,
// so the Content-Security-Policy can forbid inline scripts (see api/http/protection.ts).
'use strict';
const q = new URLSearchParams(location.search);
if (q.get('error')) document.getElementById('error').hidden = false;
if (q.get('next')) document.getElementById('next').value = q.get('next');
