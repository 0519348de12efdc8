import {
  startAuthentication,
  startRegistration,
  type AuthenticationResponseJSON,
  type PublicKeyCredentialCreationOptionsJSON,
  type PublicKeyCredentialRequestOptionsJSON,
  type RegistrationResponseJSON,
} from '@simplewebauthn/browser';

/** The platform authenticator ceremonies (fingerprint / face), injectable so the SDK runs where WebAuthn does not. */
export interface WebAuthnCeremonies {
  register(optionsJSON: PublicKeyCredentialCreationOptionsJSON): Promise<RegistrationResponseJSON>;
  authenticate(optionsJSON: PublicKeyCredentialRequestOptionsJSON): Promise<AuthenticationResponseJSON>;
}

export const browserWebAuthn: WebAuthnCeremonies = {
  register: (optionsJSON) => startRegistration({ optionsJSON }),
  authenticate: (optionsJSON) => startAuthentication({ optionsJSON }),
};

/** Whether this browser has a platform authenticator with user verification (fingerprint, face). */
export async function hasPlatformBiometric(): Promise<boolean> {
  if (typeof PublicKeyCredential === 'undefined') return false;
  try {
    return await PublicKeyCredential.isUserVerifyingPlatformAuthenticatorAvailable();
  } catch {
    return false;
  }
}
