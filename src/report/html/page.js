/* harrow report: the search box and the links that open collapsed sections. Reads the page
   only (textContent, classes, the open flag): no network, no HTML built from text. */
(function () {
  'use strict';
  var doc = document;
  var q = doc.getElementById('q');
  var count = doc.getElementById('q-count');
  var items = Array.prototype.slice.call(doc.querySelectorAll('.s'));
  var texts = items.map(function (el) { return (el.textContent || '').toLowerCase(); });
  var boxes = Array.prototype.slice.call(doc.querySelectorAll('.sc'));
  var heads = boxes.map(function (el) {
    var s = el.querySelector('summary');
    return s ? (s.textContent || '').toLowerCase() : '';
  });
  var timer = 0;

  function apply() {
    var t = q.value.trim().toLowerCase();
    var shown = 0;
    var i;
    for (i = 0; i < items.length; i++) {
      items[i].classList.toggle('miss', t !== '' && texts[i].indexOf(t) < 0);
    }
    /* A section whose own title matches shows all it holds. */
    for (i = 0; i < boxes.length; i++) {
      if (t !== '' && heads[i].indexOf(t) >= 0) {
        var inner = boxes[i].querySelectorAll('.s.miss');
        for (var k = 0; k < inner.length; k++) { inner[k].classList.remove('miss'); }
      }
    }
    for (i = boxes.length - 1; i >= 0; i--) {
      var any = t === '' || heads[i].indexOf(t) >= 0 ||
        boxes[i].querySelector('.s:not(.miss)') !== null;
      boxes[i].classList.toggle('miss', !any);
      if (t !== '' && any && boxes[i].tagName === 'DETAILS') { boxes[i].open = true; }
    }
    for (i = 0; i < items.length; i++) {
      if (!items[i].classList.contains('miss')) { shown++; }
      items[i].classList.toggle('hit', t !== '' && !items[i].classList.contains('miss') &&
        items[i].namespaceURI !== doc.documentElement.namespaceURI);
    }
    count.textContent = t === '' ? '' : shown + ' of ' + items.length + ' match';
  }

  q.addEventListener('input', function () {
    clearTimeout(timer);
    timer = setTimeout(apply, 120);
  });

  function openTo(id) {
    var el = doc.getElementById(id);
    if (!el) { return; }
    for (var p = el; p; p = p.parentElement) {
      if (p.tagName === 'DETAILS') { p.open = true; }
    }
    el.scrollIntoView({ block: 'start' });
  }

  doc.addEventListener('click', function (ev) {
    var a = ev.target && ev.target.closest ? ev.target.closest('a') : null;
    if (!a) { return; }
    var h = a.getAttribute('href');
    if (h && h.charAt(0) === '#' && h.length > 1) {
      ev.preventDefault();
      openTo(h.slice(1));
      if (history.replaceState) { history.replaceState(null, '', h); }
    }
  });

  if (location.hash.length > 1) { openTo(location.hash.slice(1)); }

  /* What a headless check reads back: the script ran and both drawings have a size. */
  ['graph-svg', 'timeline-svg'].forEach(function (id) {
    var svg = doc.getElementById(id);
    var r = svg ? svg.getBoundingClientRect() : null;
    doc.documentElement.setAttribute('data-' + id,
      r && r.width > 0 && r.height > 0 ? 'rendered' : 'missing');
  });
  doc.documentElement.setAttribute('data-ready', String(items.length));
})();
