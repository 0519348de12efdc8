import type { OfferView } from '../../protocol/src/pipeline.ts';
import type { ShellElectron } from './electron-api.ts';

/**
 * The OS notification for an offer. It names the request's option and its
 * assurance level but not the customer: notifications show on lock screens and
 * stay in notification history, where a customer's name does not belong.
 */
export function offerNotificationText(offer: OfferView, now = Date.now()): { title: string; body: string } {
  const seconds = Math.max(0, Math.round((Date.parse(offer.expiresAt) - now) / 1000));
  return {
    title: 'New customer request',
    body: `${offer.request.optionLabel}, assurance level ${offer.request.level}. Respond within ${seconds} s.`,
  };
}

export interface OfferNotifierOptions {
  /** No notification while the agent is looking at the console: the offer is on screen. */
  isWindowFocused(): boolean;
  /** Clicking the notification brings the console forward. */
  onClick(): void;
}

/** Returns the function to call with each 'offer' event; it answers whether a notification was shown. */
export function createOfferNotifier(
  electron: Pick<ShellElectron, 'Notification'>,
  opts: OfferNotifierOptions,
): (offer: OfferView) => boolean {
  return (offer) => {
    if (opts.isWindowFocused() || !electron.Notification.isSupported()) return false;
    const n = new electron.Notification({ ...offerNotificationText(offer), urgency: 'critical' });
    n.on('click', () => opts.onClick());
    n.show();
    return true;
  };
}
