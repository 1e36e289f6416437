import './base.css';
import './runview.css';
import './diffview.css';
