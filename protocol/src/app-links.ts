import { z } from 'zod';

/**
 * The verification link texted to a caller from the phone network (issue 14): a plain
 * path on the authority's host, `https://<host>/v/<token>`, so that the phone's operating
 * system can open the company's native app (the SDK embedded) for it: iOS universal links
 * (`/.well-known/apple-app-site-association`) and Android app links
 * (`/.well-known/assetlinks.json`). Without the app, the browser loads the path and the
 * authority sends it on to the web customer app's screen (`/app/#/verify-call/<token>`,
 * the older form of the link, still understood). docs/native-app-links.md.
 */

/** The path of a verification link, before its token. */
export const VERIFY_LINK_PATH = '/v/';
/** The web customer app's hash route for a link (what `/v/<token>` sends a browser on to). */
export const VERIFY_CALL_HASH = '#/verify-call/';

/** A link's token: what follows `/v/` (32 base64url characters, 24 random bytes, as issued). */
export const VerificationLinkToken = z.string().regex(/^[A-Za-z0-9_-]{16,64}$/, 'a link token');

const ORIGIN = /^(https?:\/\/[^/?#\s]+)/i;
const PATH_FORM = /^(?:https?:\/\/[^/?#\s]+)?\/v\/([A-Za-z0-9_-]{16,64})\/?$/i;
const HASH_FORM = /^(?:https?:\/\/[^?#\s]+)?(?:\/[^?#\s]*)?#\/verify-call\/([A-Za-z0-9_-]{16,64})$/i;

/** The link texted for `token`: `<origin of base>/v/<token>` (base: the customer app's URL, or any URL on its host). */
export function verificationLinkUrl(base: string, token: string): string {
  const origin = ORIGIN.exec(base)?.[1];
  if (!origin) throw new Error(`not an http(s) URL: ${base}`);
  return `${origin}${VERIFY_LINK_PATH}${VerificationLinkToken.parse(token)}`;
}

/**
 * The token of a verification link, or null when `link` is not one: the path form
 * (`https://host/v/<token>`, as texted; what a native app receives from the operating
 * system) or the web app's hash form (`https://host/app/#/verify-call/<token>`). A bare
 * path (`/v/<token>`) or hash (`#/verify-call/<token>`) is taken too; a query or anything
 * after the token is not. The host is not checked here: the operating system only hands
 * the app links of its associated domains.
 */
export function verificationLinkToken(link: string): string | null {
  const m = PATH_FORM.exec(link) ?? HASH_FORM.exec(link);
  return m?.[1] ?? null;
}

/** An iOS app id as the association file names it: the Apple team id, a dot, the bundle id. */
export const AppleAppId = z
  .string()
  .regex(/^[A-Z0-9]{10}\.[A-Za-z0-9-]+(\.[A-Za-z0-9-]+)*$/, 'an iOS app id ("ABCDE12345.com.example.bank")');
/** An Android application id ("com.example.bank"). */
export const AndroidPackage = z
  .string()
  .regex(/^[A-Za-z][A-Za-z0-9_]*(\.[A-Za-z][A-Za-z0-9_]*)+$/, 'an Android package name ("com.example.bank")');
/** The SHA-256 fingerprint of an Android app's signing certificate, as `keytool -list` prints it. */
export const CertFingerprint = z
  .string()
  .trim()
  .toUpperCase()
  .regex(/^([0-9A-F]{2}:){31}[0-9A-F]{2}$/, 'a SHA-256 certificate fingerprint ("14:6D:E9:…", 32 bytes)');

/**
 * `/.well-known/apple-app-site-association`: the iOS apps that open the verification
 * links of this host (applinks, paths `/v/*`). Apple's format; fetched by Apple's CDN
 * over HTTPS without redirects.
 */
export const AppleAppSiteAssociation = z.strictObject({
  applinks: z
    .strictObject({
      apps: z.array(z.string()).length(0).describe('Always empty (required by iOS 12 and earlier).'),
      details: z
        .array(
          z.strictObject({
            appIDs: z
              .array(AppleAppId)
              .min(1)
              .describe('The apps (team id + bundle id) that open the links.'),
            appID: AppleAppId.describe('The first of appIDs (the form iOS 12 and earlier read).'),
            paths: z.array(z.string()).describe('The paths they open (iOS 12 and earlier).'),
            components: z
              .array(
                z.strictObject({
                  '/': z.string().describe('A path pattern.'),
                  comment: z.string().describe('What the paths are.'),
                }),
              )
              .describe('The paths they open (iOS 13 and later).'),
          }),
        )
        .length(1)
        .describe('One entry: the apps and the paths they open.'),
    })
    .describe('Universal links: the verification link paths, opened by the apps named.'),
});
export type AppleAppSiteAssociation = z.infer<typeof AppleAppSiteAssociation>;

/**
 * `/.well-known/assetlinks.json`: the Android app (package and signing certificates) that
 * handles this host's links (Digital Asset Links, relation handle_all_urls): its
 * `autoVerify` intent filter for `/v/` is then verified.
 */
export const AssetLinks = z
  .array(
    z.strictObject({
      relation: z
        .array(z.literal('delegate_permission/common.handle_all_urls'))
        .length(1)
        .describe('The app may handle all links of this host its intent filters declare.'),
      target: z
        .strictObject({
          namespace: z.literal('android_app').describe('An Android app.'),
          package_name: AndroidPackage.describe('The application id.'),
          sha256_cert_fingerprints: z
            .array(CertFingerprint)
            .min(1)
            .describe('SHA-256 fingerprints of the certificates the app is signed with.'),
        })
        .describe('The app.'),
    }),
  )
  .length(1);
export type AssetLinks = z.infer<typeof AssetLinks>;

/** The association documents for the configured apps; null for a platform with no app configured. */
export function appLinkDocuments(c: {
  iosAppIds: readonly string[];
  androidPackage?: string | undefined;
  androidCertFingerprints: readonly string[];
}): { apple: AppleAppSiteAssociation | null; android: AssetLinks | null } {
  const pattern = `${VERIFY_LINK_PATH}*`;
  const apple: AppleAppSiteAssociation | null =
    c.iosAppIds.length === 0
      ? null
      : {
          applinks: {
            apps: [],
            details: [
              {
                appIDs: [...c.iosAppIds],
                appID: c.iosAppIds[0]!,
                paths: [pattern],
                components: [{ '/': pattern, comment: 'Verification links texted during a phone call' }],
              },
            ],
          },
        };
  const android: AssetLinks | null =
    c.androidPackage === undefined || c.androidCertFingerprints.length === 0
      ? null
      : [
          {
            relation: ['delegate_permission/common.handle_all_urls'],
            target: {
              namespace: 'android_app',
              package_name: c.androidPackage,
              sha256_cert_fingerprints: c.androidCertFingerprints.map((f) => f.trim().toUpperCase()),
            },
          },
        ];
  return { apple, android };
}
