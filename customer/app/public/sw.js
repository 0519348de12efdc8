/* The customer app's service worker: wakes the phone when an agent is ready (Web Push,
   RFC 8030; the payload is decrypted by the browser). Shows "Northwind Bank is ready to
   call you" and opens (or focuses) the app on a tap. Nothing is cached. */
/* global self -- the service worker global scope */
self.addEventListener('install', () => self.skipWaiting());
self.addEventListener('activate', (event) => event.waitUntil(self.clients.claim()));

self.addEventListener('push', (event) => {
  let data = { title: 'Your bank is ready to call you', body: 'Open the app to take the call.' };
  try {
    if (event.data) data = { ...data, ...event.data.json() };
  } catch {
    /* a payload that is not JSON: the default text */
  }
  event.waitUntil(
    self.registration.showNotification(data.title, {
      body: data.body,
      tag: data.requestId ? `request-${data.requestId}` : 'wake',
      requireInteraction: true,
      data: { requestId: data.requestId ?? null },
    }),
  );
});

self.addEventListener('notificationclick', (event) => {
  event.notification.close();
  const scope = self.registration.scope;
  event.waitUntil(
    self.clients.matchAll({ type: 'window', includeUncontrolled: true }).then((list) => {
      const open = list.find((c) => c.url.startsWith(scope));
      return open ? open.focus() : self.clients.openWindow(scope);
    }),
  );
});
