// The language switch (top bar and login page): one button per language, named in its own
// language; a click switches the page at once and is remembered (i18n.js).

import { element } from "./dom.js";
import { CATALOGUES, LANGUAGES, language, onLanguageChange, switchLanguage } from "./i18n.js";

export function languageSwitch(group) {
  const buttons = LANGUAGES.map((code) => {
    const button = element("button", "", CATALOGUES[code]["language.name"]);
    button.type = "button";
    button.lang = code;
    button.dataset.language = code;
    button.addEventListener("click", () => switchLanguage(code));
    return button;
  });
  const mark = () => {
    for (const button of buttons)
      button.setAttribute("aria-pressed", String(button.dataset.language === language()));
  };
  mark();
  onLanguageChange(mark);
  group.replaceChildren(...buttons);
}
