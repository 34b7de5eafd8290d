// Progressive enhancement: show the chosen photos before sending. The form works without it.
// Photos kept from a refused try (ticked boxes named kept_…) count towards the form's limit.
const PHOTO_LIMIT = 6;

document.addEventListener("change", (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || input.type !== "file") return;
  const preview = input.form && input.form.querySelector(".photo-preview");
  if (!preview) return;
  preview.replaceChildren();
  const kept = input.form.querySelectorAll('.kept-uploads input[type="checkbox"]:checked').length;
  const room = Math.max(PHOTO_LIMIT - kept, 0);
  const files = Array.from(input.files || []);
  if (files.length > room) {
    const warning = document.createElement("p");
    warning.className = "error";
    warning.textContent = kept
      ? `Attach at most ${PHOTO_LIMIT} photos: ${kept} already attached, so ${room} more.`
      : input.dataset.tooMany || `Attach at most ${PHOTO_LIMIT} photos.`;
    preview.append(warning);
  }
  for (const file of files.slice(0, room)) {
    const img = document.createElement("img");
    img.alt = file.name;
    preview.append(img);
    // A data: URL, which the page's CSP allows for images (a blob: URL it would refuse).
    const reader = new FileReader();
    reader.onload = () => { img.src = reader.result; };
    reader.readAsDataURL(file);
  }
});
