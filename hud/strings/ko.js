// 한국어: strings/en.js와 같은 키를 모두 가집니다.

export const KO = {
  "language.name": "한국어",
};
