// English: every string the HUD shows. Keys are "area.what"; {name} is filled in by t().

export const EN = {
  "language.name": "English",
};
