// The poll graphic of the overlay: the question and one bar per option with its share, inside
// the title-safe area; animated in and out like the lower third; the bars grow as counts arrive.
// Text is set with textContent only.

/** An element of a class, holding `children`. */
function el(tag, cls, ...children) {
  const e = document.createElement(tag);
  e.className = cls;
  e.append(...children);
  return e;
}

/** The empty graphic (hidden until `fillPoll` and `showPoll`). */
export function buildPollGraphic() {
  const g = el('section', 'pg', el('div', 'pg-box', el('p', 'pg-question'), el('ol', 'pg-options')));
  g.setAttribute('aria-hidden', 'true');
  return g;
}

/** Shares in whole percent that add up to 100 (largest remainder), or zeros. */
export function percents(counts) {
  const total = counts.reduce((a, b) => a + b, 0);
  if (!total) return counts.map(() => 0);
  const raw = counts.map((n) => (100 * n) / total);
  const out = raw.map(Math.floor);
  let left = 100 - out.reduce((a, b) => a + b, 0);
  const order = raw.map((r, i) => [r - Math.floor(r), i]).sort((a, b) => b[0] - a[0]);
  for (const [, i] of order) { if (left <= 0) break; out[i] += 1; left -= 1; }
  return out;
}

/** Puts a poll view (`{question, options: [{text, count}]}`) into the graphic. */
export function fillPoll(g, poll) {
  g.querySelector('.pg-question').textContent = poll.question;
  const list = g.querySelector('.pg-options');
  const counts = poll.options.map((o) => o.count || 0);
  const pct = percents(counts);
  while (list.children.length > poll.options.length) list.lastElementChild.remove();
  poll.options.forEach((o, i) => {
    let li = list.children[i];
    if (!li) {
      li = el('li', '', el('span', 'pg-label'), el('span', 'pg-value'), el('span', 'pg-bar', el('span', 'pg-fill')));
      list.append(li);
    }
    li.dataset.count = String(counts[i]);
    li.querySelector('.pg-label').textContent = o.text;
    li.querySelector('.pg-value').textContent = `${pct[i]}%`;
    li.querySelector('.pg-fill').style.width = `${pct[i]}%`;
  });
  g.dataset.poll = poll.id || '';
}

/** Animates the graphic in (true) or out (false). */
export function showPoll(g, on) {
  g.classList.toggle('on', on);
}
