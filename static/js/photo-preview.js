// Progressive enhancement: show the chosen photos before sending. The form works without it.
document.addEventListener("change", (event) => {
  const input = event.target;
  if (!(input instanceof HTMLInputElement) || input.type !== "file") return;
  const preview = input.form && input.form.querySelector(".photo-preview");
  if (!preview) return;
  preview.replaceChildren();
  const files = Array.from(input.files || []);
  if (files.length > 6) {
    const warning = document.createElement("p");
    warning.className = "error";
    warning.textContent = input.dataset.tooMany || "Attach at most 6 photos.";
    preview.append(warning);
  }
  for (const file of files.slice(0, 6)) {
    const img = document.createElement("img");
    img.alt = file.name;
    img.src = URL.createObjectURL(file);
    img.onload = () => URL.revokeObjectURL(img.src);
    preview.append(img);
  }
});
