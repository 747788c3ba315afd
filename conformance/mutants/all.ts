// Importing this registers every mutant (and the control) with the plugin registry.
import './control.js';
import './drop-large.js';
import './reorder.js';
import './merge.js';
import './corrupt.js';
import './no-limit.js';
import './slow-refusal.js';
import './cross-talk.js';
import './shared-state.js';
import './close-hangs.js';
import './leak-timer.js';
import './silent-close.js';
import './fragile-listener.js';
import './no-backpressure.js';
