// The route table: which view a hash shows, given who is logged in.

import { h } from './dom';
import type { Resolver, View } from './router';
import { can, session } from './session';
import { renderLogin } from './views/login';
import { renderOrders } from './views/orders';
import { renderFlag, renderFlags, renderMetrics } from './views/qa';
import { renderStudy } from './views/study';
import { renderWorklist } from './views/worklist';

const notForYou: View = (main) => {
  main.appendChild(h('section', { class: 'page' }, h('h1', null, 'Not available'), h('p', null, 'The QA pages are for QA leads.')));
};

export const resolveRoute: Resolver = ({ path }) => {
  if (!session.user && path[0] !== 'login') return '#/login?next=' + encodeURIComponent(location.hash);
  switch (path[0]) {
    case 'login':
      return renderLogin;
    case 'study':
      if (path[1]) return renderStudy;
      break;
    case 'orders':
      return renderOrders;
    case 'qa':
      if (!can.qa()) return notForYou;
      if (path[1] === 'flags' && path[2]) return renderFlag;
      if (path[1] === 'metrics') return renderMetrics;
      return renderFlags;
  }
  return can.worklist() ? renderWorklist : '#/qa';
};
