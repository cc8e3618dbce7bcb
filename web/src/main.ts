// Entry point of the page: builds the App once the DOM is there. The audio engine's
// class is also reachable as window.tuttiEngine, so a test (or an embedding site) can
// render it in an OfflineAudioContext.
import { PianoSynth } from './audio/piano.js';
import { App } from './ui/app.js';

declare global { interface Window { tuttiEngine?: { PianoSynth: typeof PianoSynth } } }
window.tuttiEngine = { PianoSynth };
new App();
