/**
 * The verification link's two forms and the native apps' configuration (issue 14): the
 * texted path form `https://host/v/<token>` built on the customer app's host, both forms
 * read back (what the web app and a native app embedding the SDK hand to
 * useVerificationLink), anything else refused; the association documents generated from the
 * configuration, and a configuration that is half there or malformed refused (VD_*).
 */
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { loadConfig } from '../../authority/src/config.ts';
import {
  AppleAppSiteAssociation,
  AssetLinks,
  appLinkDocuments,
  verificationLinkToken,
  verificationLinkUrl,
} from '../../protocol/src/app-links.ts';

const TOKEN = 'Zq3_x-8LmNoPqRsTuVwXyZ0123456789';
const FP = Array.from({ length: 32 }, () => 'ab').join(':');

describe('verification links: the path form and the hash form', () => {
  it('builds the path form on the host of the customer app, whatever its path', () => {
    assert.equal(
      verificationLinkUrl('https://app.example.com/app/', TOKEN),
      `https://app.example.com/v/${TOKEN}`,
    );
    assert.equal(verificationLinkUrl('https://app.example.com', TOKEN), `https://app.example.com/v/${TOKEN}`);
    assert.equal(
      verificationLinkUrl('http://localhost:8780/app/x?y#z', TOKEN),
      `http://localhost:8780/v/${TOKEN}`,
    );
    assert.throws(() => verificationLinkUrl('https://app.example.com/', 'short'), /a link token/);
    assert.throws(() => verificationLinkUrl('app.example.com', TOKEN), /not an http\(s\) URL/);
  });

  it('reads the token from either form, as texted, as the OS hands it to an app, or as the web app sees it', () => {
    for (const link of [
      `https://app.example.com/v/${TOKEN}`,
      `https://app.example.com/v/${TOKEN}/`,
      `/v/${TOKEN}`,
      `https://app.example.com/app/#/verify-call/${TOKEN}`,
      `#/verify-call/${TOKEN}`,
    ])
      assert.equal(verificationLinkToken(link), TOKEN, link);
    // The URL the text carries reads back to the token it was built from.
    assert.equal(verificationLinkToken(verificationLinkUrl('https://a.example/app/', TOKEN)), TOKEN);
  });

  it('anything else is not a link', () => {
    for (const link of [
      '',
      'https://app.example.com/',
      `https://app.example.com/v/${TOKEN}?x=1`,
      `https://app.example.com/v/${TOKEN}#x`,
      `https://app.example.com/v/${TOKEN}/more`,
      `https://app.example.com/w/${TOKEN}`,
      `https://app.example.com/app/v/${TOKEN}`,
      'https://app.example.com/v/short',
      `https://app.example.com/v/${TOKEN}!`,
      `javascript:alert(1)//v/${TOKEN}`,
      `#/verify-call/${TOKEN}/x`,
      `#/verify-call/${'x'.repeat(65)}`,
    ])
      assert.equal(verificationLinkToken(link), null, link);
  });
});

describe("the native apps' association documents", () => {
  it('none configured: no document for either platform', () => {
    assert.deepEqual(appLinkDocuments({ iosAppIds: [], androidCertFingerprints: [] }), {
      apple: null,
      android: null,
    });
  });

  it('generated from the configuration, valid against their schemas', () => {
    const c = loadConfig([], {
      VD_IOS_APP_IDS: 'ABCDE12345.com.northwind.bank, ABCDE12345.com.northwind.bank.beta',
      VD_ANDROID_PACKAGE: 'com.northwind.bank',
      VD_ANDROID_CERT_FINGERPRINTS: `${FP},${FP.replaceAll('ab', 'cd')}`,
    });
    const { apple, android } = appLinkDocuments(c);
    AppleAppSiteAssociation.parse(apple);
    AssetLinks.parse(android);
    assert.deepEqual(apple!.applinks.details[0]!.appIDs, [
      'ABCDE12345.com.northwind.bank',
      'ABCDE12345.com.northwind.bank.beta',
    ]);
    assert.deepEqual(apple!.applinks.details[0]!.components, [
      { '/': '/v/*', comment: 'Verification links texted during a phone call' },
    ]);
    assert.deepEqual(android![0]!.target.sha256_cert_fingerprints, [
      FP.toUpperCase(),
      FP.replaceAll('ab', 'CD'),
    ]);
  });

  it('a configuration that is half there or malformed is refused, naming the setting', () => {
    assert.throws(
      () => loadConfig([], { VD_ANDROID_PACKAGE: 'com.northwind.bank' }),
      /VD_ANDROID_CERT_FINGERPRINTS/,
    );
    assert.throws(() => loadConfig([], { VD_ANDROID_CERT_FINGERPRINTS: FP }), /VD_ANDROID_PACKAGE/);
    assert.throws(() => loadConfig([], { VD_IOS_APP_IDS: 'com.northwind.bank' }), /an iOS app id/);
    assert.throws(
      () =>
        loadConfig([], { VD_ANDROID_PACKAGE: 'com.northwind.bank', VD_ANDROID_CERT_FINGERPRINTS: '14:6D' }),
      /certificate fingerprint/,
    );
    assert.throws(
      () => loadConfig([], { VD_ANDROID_PACKAGE: 'bank', VD_ANDROID_CERT_FINGERPRINTS: FP }),
      /Android package name/,
    );
  });
});
