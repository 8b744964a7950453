// Element builders. Text always goes in through textContent, never innerHTML, so nothing the
// wallet or the issuer returns can become markup.

type Attrs = Record<string, string | number | boolean | null | undefined>;
export type Child = Node | string | null | undefined | false;

/** Creates `<tag>` with attributes (false/null/undefined are skipped) and children. */
export function h<K extends keyof HTMLElementTagNameMap>(
  tag: K,
  attrs: Attrs = {},
  ...children: Child[]
): HTMLElementTagNameMap[K] {
  const el = document.createElement(tag);
  for (const [name, value] of Object.entries(attrs)) {
    if (value === false || value === null || value === undefined) continue;
    el.setAttribute(name, value === true ? "" : String(value));
  }
  append(el, ...children);
  return el;
}

export function append(parent: Node, ...children: Child[]): void {
  for (const child of children) {
    if (child === null || child === undefined || child === false) continue;
    parent.appendChild(typeof child === "string" ? document.createTextNode(child) : child);
  }
}

/** Replaces all children of `parent`. */
export function replace(parent: Node, ...children: Child[]): void {
  while (parent.firstChild) parent.removeChild(parent.firstChild);
  append(parent, ...children);
}

/** A button whose click runs `onClick`; real <button>, so Enter and Space work. */
export function button(
  attrs: Attrs,
  label: Child | Child[],
  onClick: (ev: MouseEvent) => void,
): HTMLButtonElement {
  const kids = Array.isArray(label) ? label : [label];
  const b = h("button", { type: "button", ...attrs }, ...kids);
  b.addEventListener("click", onClick);
  return b;
}

/** Shows or hides an element (the `hidden` attribute; styles.css keeps it display:none). */
export function show(el: HTMLElement, visible: boolean): void {
  el.hidden = !visible;
}
