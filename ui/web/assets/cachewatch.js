// Clientside helpers; kept in a file (not inline) so the Content-Security-Policy needs no
// 'unsafe-inline' for scripts.
window.dash_clientside = Object.assign({}, window.dash_clientside, {
  cachewatch: {
    viewport: function () {
      return { width: window.innerWidth, height: window.innerHeight };
    },
  },
});
