import { parsePhoneNumberWithError, type CountryCode } from 'libphonenumber-js/max';

/** A phone number as written -> E.164, or why not (a message for a 400 that names the field). */
export function normalisePhone(
  text: string,
  defaultRegion: string,
): { ok: true; e164: string } | { ok: false; message: string } {
  const shown = JSON.stringify(text.slice(0, 40));
  let parsed;
  try {
    parsed = parsePhoneNumberWithError(text, defaultRegion as CountryCode);
  } catch {
    return { ok: false, message: `${shown} is not a phone number` };
  }
  if (parsed.ext) return { ok: false, message: `${shown}: extensions are not accepted` };
  if (!parsed.isValid())
    return {
      ok: false,
      message: `${shown} is not a valid phone number (national numbers are read as ${defaultRegion}; write others with +country code)`,
    };
  return { ok: true, e164: parsed.number };
}

/** For the audit log: the country code and the last 4 digits ("+44*******0958"). */
export const maskPhone = (e164: string): string =>
  e164.length <= 7
    ? e164.slice(0, 3) + '*'.repeat(e164.length - 3)
    : e164.slice(0, 3) + '*'.repeat(e164.length - 7) + e164.slice(-4);
