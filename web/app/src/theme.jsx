// Light and dark themes: the system's preference until the user picks one (kept per browser).
import { useState } from 'preact/hooks';

const THEME_ITEM = 'tailor.theme';

const systemDark = matchMedia('(prefers-color-scheme: dark)');

// The theme in force: the user's pick, else the system's (followed as it changes).
function apply(theme) {
  document.documentElement.dataset.theme = theme || (systemDark.matches ? 'dark' : 'light');
}
apply(localStorage.getItem(THEME_ITEM));
systemDark.addEventListener('change', () => apply(localStorage.getItem(THEME_ITEM)));

export function ThemeToggle() {
  const [theme, setTheme] = useState(localStorage.getItem(THEME_ITEM) ?? '');
  const dark = theme ? theme === 'dark' : systemDark.matches;
  const flip = () => {
    const next = dark ? 'light' : 'dark';
    localStorage.setItem(THEME_ITEM, next);
    apply(next);
    setTheme(next);
  };
  return (
    <button type="button" class="quiet" onClick={flip} aria-label={dark ? 'Use the light theme' : 'Use the dark theme'}>
      {dark ? 'Light' : 'Dark'}
    </button>
  );
}
