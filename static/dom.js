/**
 * Tiny DOM helpers. Policy: text — above all GitHub's text — only ever goes
 * into the page through `textContent`/text nodes, never through innerHTML.
 */

/**
 * Create an element: `h("a", {href, className: "x", dataset: {id: 1}, onclick}, "text", child)`.
 * String children become text nodes; null/false children are skipped.
 */
export function h(tag, props = {}, ...children) {
  const node = document.createElement(tag);
  for (const [key, value] of Object.entries(props)) {
    if (value === null || value === undefined || value === false) continue;
    if (key === "className") node.className = value;
    else if (key === "dataset") Object.assign(node.dataset, value);
    else if (key.startsWith("on")) node.addEventListener(key.slice(2), value);
    else if (key === "text") node.textContent = value;
    else node.setAttribute(key, value === true ? "" : String(value));
  }
  for (const child of children.flat(Infinity)) {
    if (child === null || child === undefined || child === false) continue;
    node.append(child instanceof Node ? child : document.createTextNode(String(child)));
  }
  return node;
}

/** Set text only when it changed, so a poll that brings nothing new leaves the DOM alone. */
export function setText(node, text) {
  const value = text === null || text === undefined ? "" : String(text);
  if (node.textContent !== value) node.textContent = value;
}

/** Set (or, for null, remove) an attribute only when it changed. */
export function setAttr(node, name, value) {
  if (value === null || value === undefined) {
    if (node.hasAttribute(name)) node.removeAttribute(name);
  } else if (node.getAttribute(name) !== String(value)) {
    node.setAttribute(name, String(value));
  }
}

/** Replace all children of `node`. */
export function replaceChildren(node, ...children) {
  node.replaceChildren(...children.flat(Infinity).filter((c) => c !== null && c !== undefined));
}

/** Show a message in a status element, with a kind ("ok", "error", "info") for styling. */
export function showMessage(node, text, kind = "info") {
  setText(node, text);
  node.dataset.kind = kind;
  node.hidden = !text;
}
