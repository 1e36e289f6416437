import './base.css';
import './runview.css';
import './diffview.css';
import './registry.css';
import './features.css';
import './jobs.css';
