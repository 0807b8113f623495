// The header's layer buttons: All, then L1 to L7; choosing one dims every other layer.

import { element } from "./dom.js";
import { translated } from "./i18n.js";

// `initial`: the layer to show first (null: all); `onChange(layer)` is told of each choice.
export function buildLayerFilter(bar, stage, { initial = null, onChange = () => {} } = {}) {
  const buttons = [null, 1, 2, 3, 4, 5, 6, 7].map((layer) => {
    const button =
      layer === null
        ? translated(element("button"), "layer.all")
        : element("button", "", `L${layer}`);
    translated(button, layer === null ? "layer.every" : `layer.name.${layer}`, "title");
    button.dataset.layer = layer === null ? "all" : String(layer);
    button.addEventListener("click", () => {
      stage.setLayerFilter(layer);
      buttons.forEach((b) => b.classList.toggle("current", b === button));
      onChange(layer);
    });
    return button;
  });
  buttons[initial ?? 0].classList.add("current");
  stage.setLayerFilter(initial);
  bar.replaceChildren(...buttons);
}
