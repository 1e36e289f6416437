import './base.css';
import './runview.css';
