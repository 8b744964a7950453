// Turning the SVG document Rust returns into an <img> source. btoa only takes Latin-1, so
// the SVG is UTF-8 encoded first (titles or comments may hold Chinese text).

export function base64Utf8(text: string): string {
  const bytes = new TextEncoder().encode(text);
  let binary = "";
  // Chunked: String.fromCharCode(...bytes) overflows the stack on large SVGs.
  for (let i = 0; i < bytes.length; i += 0x8000) {
    binary += String.fromCharCode(...bytes.subarray(i, i + 0x8000));
  }
  return btoa(binary);
}

export function svgDataUrl(svg: string): string {
  return `data:image/svg+xml;base64,${base64Utf8(svg)}`;
}

/** Seconds between making a QR and making the next one (the proof lives 60 s). */
export const REFRESH_SECONDS = 30;
