import type { AppStore, Screen } from './app-state.ts';
import type { CallStore } from './calls.ts';

/** Enrolment with a one-time code, the factors set up on this phone, and security notices. */
export class EnrolmentStore {
  constructor(
    private readonly app: AppStore,
    private readonly calls: CallStore,
  ) {}

  /** "That was me": the notice is acknowledged on the authority and leaves the screen. */
  acknowledgeNotice(noticeId: string): Promise<void> {
    return this.app.run('Saving…', async () => {
      await this.app.requireDevice().acknowledgeNotice(noticeId);
      this.app.set({
        securityNotices: this.app.getState().securityNotices.filter((n) => n.noticeId !== noticeId),
      });
    });
  }

  enrol(code: string): Promise<void> {
    return this.app.run('Checking the code…', async () => {
      const d = this.app.requireDevice();
      const who = await d.enrol(code.trim().toUpperCase());
      this.calls.startPhone();
      this.app.set({ customerName: who.customerName });
      await this.app.loadProfile();
      this.app.go({ name: 'enrol-pin' });
    });
  }

  /** Set the PIN, then verify with it at once: the authentication reaches level 2. */
  setPin(pin: string): Promise<void> {
    return this.app.run('Saving your PIN…', async () => {
      const d = this.app.requireDevice();
      await d.setPin(pin);
      await d.verifyPin(pin);
      await this.app.loadProfile();
      this.app.go({ name: 'enrol-fingerprint' });
    });
  }

  addFingerprint(next: Screen = { name: 'enrol-photo' }): Promise<void> {
    return this.app.run('Waiting for your fingerprint…', async () => {
      await this.app.requireDevice().registerBiometric();
      await this.app.loadProfile();
      this.app.go(next, { notice: 'Fingerprint added.' });
    });
  }

  uploadEnrolmentPhoto(photo: Blob): Promise<void> {
    return this.app.run('Saving your photo…', async () => {
      await this.app.requireDevice().uploadPhoto(photo, 'enrolment');
      await this.app.loadProfile();
      const first = this.app.getState().customerName?.split(' ')[0];
      this.app.go({ name: 'home' }, { notice: first ? `You’re all set, ${first}.` : 'You’re all set.' });
    });
  }
}
