// Markdown rendered safely. marked turns it into HTML with any raw HTML in the text escaped (shown as text, never
// parsed as markup), DOMPurify then keeps only inert markup (the second line of defence: unsafe links, anything
// marked let through), and the result is inserted as a DOM fragment. Both libraries are served by the API from its
// node_modules (no CDN). Images are dropped (no request may leave the machine); links open in a new tab without a
// referrer.
import { loadScript } from './dom.js';

let libs;

const escapeHtml = (t) => String(t).replace(/&/g, '&amp;').replace(/</g, '&lt;').replace(/>/g, '&gt;').replace(/"/g, '&quot;');

export function markdownLibs() {
  // DOMPurify's minified build is a classic script (it sets window.DOMPurify); marked is an ES module.
  libs ??= Promise.all([import('/vendor/marked.js'), loadScript('/vendor/purify.js')]).then(([m]) => {
    const purify = window.DOMPurify;
    purify.addHook('afterSanitizeAttributes', (node) => {
      if (node.tagName === 'A') {
        node.setAttribute('target', '_blank');
        node.setAttribute('rel', 'noopener noreferrer');
      }
    });
    // Raw HTML in the Markdown (a task that contains `<img onerror=...>`, a model that answers with markup) is text.
    const marked = new m.Marked({ gfm: true, renderer: { html: ({ text }) => escapeHtml(text) } });
    return { marked, purify };
  });
  return libs;
}

const CONFIG = {
  RETURN_DOM_FRAGMENT: true,
  FORBID_TAGS: ['img', 'picture', 'source', 'video', 'audio', 'iframe', 'object', 'embed', 'style', 'form', 'input', 'button', 'textarea', 'select', 'svg', 'math', 'link', 'meta', 'base'],
  FORBID_ATTR: ['style', 'class', 'id', 'srcset'],
};

/** Markdown → an inert DOM fragment (call after markdownLibs() has resolved). */
export function renderMarkdownSync(text, { marked, purify }) {
  const html = marked.parse(String(text ?? ''), { async: false });
  return purify.sanitize(html, CONFIG);
}

export async function renderMarkdown(text) {
  return renderMarkdownSync(text, await markdownLibs());
}
