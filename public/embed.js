// Sparecloud's embed loader for partner portals. On your page:
//   <div data-sparecloud-partner="YOUR-PARTNER-ID"></div>
//   <script src="https://SPARECLOUD/public/embed.js"></script>
// Each such element gets an iframe with the marketplace and checkout, sized
// to its content. The element receives the embed's events as DOM events:
//   sparecloud:ready, sparecloud:resize ({height}),
//   sparecloud:order-completed ({order_id, hourly_total_cents,
//   estimated_month_cents, currency}), with the data in `event.detail`.
// The Sparecloud address is where this script was loaded from, and the
// partner id is read from the page: nothing is compiled in.
(function () {
  'use strict';
  var script = document.currentScript;
  if (!script) return;
  var origin = new URL(script.src, document.baseURI).origin;

  function mount(host) {
    if (host.querySelector('iframe[data-sparecloud]')) return;
    var partner = host.getAttribute('data-sparecloud-partner');
    var path = host.getAttribute('data-sparecloud-path') || 'marketplace';
    var iframe = document.createElement('iframe');
    iframe.setAttribute('data-sparecloud', '');
    iframe.src = origin + '/embed/' + encodeURIComponent(partner) + '/' + path.replace(/^\/+/, '');
    iframe.title = host.getAttribute('data-sparecloud-title') || 'Cloud servers';
    iframe.setAttribute('allow', 'clipboard-write');
    iframe.style.cssText = 'display:block;width:100%;min-height:320px;border:0;';
    host.appendChild(iframe);

    window.addEventListener('message', function (event) {
      // Only this iframe's messages count; any other sender is ignored.
      if (event.origin !== origin || event.source !== iframe.contentWindow) return;
      var data = event.data;
      if (!data || typeof data.type !== 'string' || data.type.indexOf('sparecloud:') !== 0) return;
      if (data.type === 'sparecloud:resize' && isFinite(data.height)) {
        iframe.style.height = Math.ceil(data.height) + 'px';
      }
      host.dispatchEvent(new CustomEvent(data.type, { detail: data, bubbles: true }));
    });
  }

  var hosts = document.querySelectorAll('[data-sparecloud-partner]');
  for (var i = 0; i < hosts.length; i++) mount(hosts[i]);
})();
