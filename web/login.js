// The sign-in page: show the error after a wrong password, and carry `next` through the form.
'use strict';
const q = new URLSearchParams(location.search);
if (q.get('error')) document.getElementById('error').hidden = false;
if (q.get('next')) document.getElementById('next').value = q.get('next');
