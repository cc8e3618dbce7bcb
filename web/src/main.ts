// Entry point of the page: loads the timing core, then builds the App. The audio engine's
// class is also reachable as window.tuttiEngine, so a test (or an embedding site) can
// render it in an OfflineAudioContext.
import { PianoSynth } from './audio/piano.js';
import { createTiming } from './playout/select.js';
import { App } from './ui/app.js';

declare global { interface Window { tuttiEngine?: { PianoSynth: typeof PianoSynth } } }
window.tuttiEngine = { PianoSynth };
new App(await createTiming());
