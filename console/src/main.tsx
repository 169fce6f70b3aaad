import { render } from 'preact';
import './console.css';

// Placeholder until the console page lands (issue 13, in progress).
const root = document.getElementById('console');
if (root !== null) render(<main><h1>Audit log</h1></main>, root);
