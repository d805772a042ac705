// The category labels shown on a message row and in the reading pane.

export function categoryChips(categories) {
  const box = document.createElement("div");
  box.className = "categories";
  for (const name of categories || []) {
    const chip = document.createElement("span");
    chip.className = "category";
    chip.textContent = name;
    box.append(chip);
  }
  return box;
}
