import { render } from 'preact';
import { App } from './app';
import { connectApi } from './lib/api';
import { loadConfig } from './lib/config';
import { config } from './lib/session';
import './styles.css';

const root = document.getElementById('app')!;

loadConfig().then(
  (loaded) => {
    config.value = loaded;
    connectApi(loaded.ApiUrl);
    render(<App />, root);
  },
  (error: Error) => {
    render(
      <main class="signin">
        <div class="signin-card" role="alert">
          <h1>The console cannot start</h1>
          <p>Its configuration (config.json beside the page) could not be read: {error.message}</p>
        </div>
      </main>,
      root,
    );
  },
);
