// PRC citizen ID number check (GB 11643, ISO 7064 MOD 11-2), run as the person types so a
// mistyped number is caught before anything is sent. The Rust side checks again.

const WEIGHTS = [7, 9, 10, 5, 8, 4, 2, 1, 6, 3, 7, 9, 10, 5, 8, 4, 2];
const CHECK = "10X98765432";

export type IdCheck = "ok" | "incomplete" | "format" | "check_digit";

/** Upper-cases x and drops spaces, which people type when copying from the card. */
export function normaliseId(raw: string): string {
  return raw.replace(/\s+/g, "").toUpperCase();
}

export function checkDigit(first17: string): string {
  let sum = 0;
  for (let i = 0; i < 17; i++) sum += Number(first17[i]) * (WEIGHTS[i] ?? 0);
  return CHECK[sum % 11] ?? "";
}

export function checkId(id: string): IdCheck {
  if (!/^\d{0,17}$|^\d{17}[\dX]$/.test(id)) return "format";
  if (id.length < 18) return "incomplete";
  return checkDigit(id.slice(0, 17)) === id[17] ? "ok" : "check_digit";
}
